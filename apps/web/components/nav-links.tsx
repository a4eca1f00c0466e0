'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { LinkPending } from './link-pending';
import { cx } from './ui';

export function NavLinks({ links }: { links: { href: string; label: string }[] }) {
  const path = usePathname();
  return (
    <ul className="flex flex-wrap gap-1">
      {links.map((l) => {
        const active =
          l.href === '/' ? path === '/' || path.startsWith('/domains') || path.startsWith('/mailboxes') : path.startsWith(l.href);
        return (
          <li key={l.href} className="shrink-0">
            <Link
              href={l.href}
              aria-current={active ? 'page' : undefined}
              className={cx(
                'relative block rounded-md px-3 py-2 text-sm font-medium',
                active ? 'bg-brand-50 text-brand-800' : 'text-slate-700 hover:bg-slate-100 hover:text-slate-900',
              )}
            >
              {l.label}
              <LinkPending />
            </Link>
          </li>
        );
      })}
    </ul>
  );
}
