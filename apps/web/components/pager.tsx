import Link from 'next/link';
import { buttonClass } from './ui';

/** Cursor pagination: "First page" and "Next page" links that keep the other query parameters. */
export function Pager({ basePath, params, cursor, nextCursor }: { basePath: string; params: Record<string, string | undefined>; cursor?: string; nextCursor: string | null }) {
  if (!cursor && !nextCursor) return null;
  const href = (c?: string) => {
    const sp = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v) sp.set(k, v);
    if (c) sp.set('cursor', c);
    const s = sp.toString();
    return s ? `${basePath}?${s}` : basePath;
  };
  return (
    <nav aria-label="Pagination" className="mt-4 flex items-center justify-between gap-2">
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
