import Link from 'next/link';
import { DashboardNotice } from '@/components/dashboard-notice';
import { apiGet } from '@/lib/api';
import { formatDateTime } from '@/lib/format';
import type { PasswordWarning, PasswordWarningList } from '@/lib/types';

/** Where an account of the list is managed: its mailbox page or (admins) the owner's page; admins have no page. */
function hrefOf(w: PasswordWarning): string | null {
  if (w.kind === 'mailbox') return `/mailboxes/${w.id}`;
  return w.role === 'OWNER' ? `/admin/owners/${w.id}` : null;
}

const STEP: Record<string, string> = { totp: 'authenticator code', recovery: 'recovery code', passkey: 'passkey' };

/**
 * Dashboard section: accounts whose password someone else entered (a second step refused after the right password,
 * in the last 30 days and since the password last changed), newest first. Owners see their mailboxes; admins every
 * account. Changing the password takes an account off the list.
 */
export async function PasswordWarnings() {
  const { items } = await apiGet<PasswordWarningList>('/password-warnings');
  if (items.length === 0) return null;
  return (
    <DashboardNotice id="password-warnings" tone="red" title="Passwords someone else knows">
      <p className="mt-1">
        Someone entered the right password of these accounts but failed the second factor. Unless it was their user, the password is known:
        change it (the warning ends then), and the mail apps&apos; too.
      </p>
      <ul className="mt-2 space-y-1">
        {items.map((w) => {
          const href = hrefOf(w);
          return (
            <li key={`${w.kind}:${w.id}`}>
              {href ? (
                <Link href={href} className="font-medium break-all underline">
                  {w.name}
                </Link>
              ) : (
                <span className="font-medium break-all">{w.name}</span>
              )}
              {w.kind === 'user' && ` (${w.role === 'ADMIN' ? 'administrator' : 'domain owner'})`}: wrong{' '}
              {STEP[w.mechanism ?? ''] ?? 'second factor'}
              {w.attempts > 1 ? ` ${w.attempts} times` : ''}, last {formatDateTime(w.lastAt)} from {w.clientAddress}
            </li>
          );
        })}
      </ul>
    </DashboardNotice>
  );
}
