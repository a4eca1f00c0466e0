import Link from 'next/link';
import { Logo } from '@/components/logo';
import { NavLinks } from '@/components/nav-links';
import { SessionProvider } from '@/components/session-provider';
import { SignOutButton } from '@/components/sign-out-button';
import { requireMe } from '@/lib/api';

export default async function AppLayout({ children }: { children: React.ReactNode }) {
  const me = await requireMe();
  const role = me.user?.role;
  const links =
    role === 'ADMIN'
      ? [
          { href: '/', label: 'Domains' },
          { href: '/admin/owners', label: 'Owners' },
          { href: '/audit', label: 'Audit log' },
          { href: '/keys', label: 'API keys' },
          { href: '/webhooks', label: 'Webhooks' },
          { href: '/account', label: 'Account' },
        ]
      : role === 'OWNER'
        ? [
            { href: '/', label: 'Domains' },
            { href: '/keys', label: 'API keys' },
            { href: '/webhooks', label: 'Webhooks' },
            { href: '/audit', label: 'Activity' },
            { href: '/account', label: 'Account' },
          ]
        : [
            { href: '/', label: 'My mailbox' },
            { href: '/account', label: 'Password' },
          ];
  const who = me.user?.email ?? me.mailbox?.address ?? '';
  return (
    <SessionProvider value={{ csrfToken: me.csrfToken, minPasswordLength: me.passwordPolicy.minLength }}>
      <a
        href="#main"
        className="sr-only rounded-md bg-white px-3 py-2 text-sm font-medium focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50"
      >
        Skip to content
      </a>
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3 sm:px-6">
          <Link href="/" className="rounded-md">
            <Logo />
          </Link>
          <nav aria-label="Main" className="order-last w-full min-w-0 sm:order-none sm:w-auto sm:flex-1">
            <NavLinks links={links} />
          </nav>
          <div className="ml-auto flex items-center gap-2">
            <span className="hidden max-w-56 truncate text-sm text-slate-600 md:inline" title={who}>
              {who}
              {role === 'ADMIN' && <span className="ml-1 text-xs font-medium text-brand-700">(admin)</span>}
            </span>
            <SignOutButton />
          </div>
        </div>
      </header>
      <main id="main" className="mx-auto max-w-6xl px-4 py-8 sm:px-6">
        {children}
      </main>
    </SessionProvider>
  );
}
