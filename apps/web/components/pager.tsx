import Link from 'next/link';
import { buttonClass } from './ui';

/**
 * Cursor pagination, the one pager of every panel list: "First page" and "Next page" links that keep the other query
 * parameters. `cursorParam` names the query parameter when a page holds several paginated lists (default `cursor`);
 * `fragment` brings the reader back to the list (e.g. `aliases`).
 */
export function Pager({
  basePath,
  params,
  cursor,
  nextCursor,
  cursorParam = 'cursor',
  fragment,
  label = 'Pagination',
}: {
  basePath: string;
  params: Record<string, string | undefined>;
  cursor?: string;
  nextCursor: string | null;
  cursorParam?: string;
  fragment?: string;
  label?: string;
}) {
  if (!cursor && !nextCursor) return null;
  const href = (c?: string) => {
    const sp = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v) sp.set(k, v);
    sp.delete(cursorParam);
    if (c) sp.set(cursorParam, c);
    const s = sp.toString();
    return `${s ? `${basePath}?${s}` : basePath}${fragment ? `#${fragment}` : ''}`;
  };
  return (
    <nav aria-label={label} className="mt-4 flex items-center justify-between gap-2">
      {cursor ? (
        <Link href={href()} className={buttonClass('secondary', 'sm')}>
          ← First page
        </Link>
      ) : (
        <span />
      )}
      {nextCursor && (
        <Link href={href(nextCursor)} className={buttonClass('secondary', 'sm')}>
          Next page →
        </Link>
      )}
    </nav>
  );
}
