import type { Metadata } from 'next';
import { mailboxSignInLog, SignInsView, type SignInFilters } from '@/components/sign-ins';
import { PageHeader } from '@/components/ui';
import { apiGet, requireMe } from '@/lib/api';
import type { Mailbox } from '@/lib/types';

export const metadata: Metadata = { title: 'Sign-in activity' };

/**
 * A mailbox's sign-in log, for its owner and admins (back to the mailbox's page) and for the mailbox user (their own
 * mailbox; back to their home). The API decides: another tenant's mailbox, or for a mailbox user any other mailbox,
 * renders the not-found page.
 */
export default async function MailboxSignInsPage({
  params,
  searchParams,
}: {
  params: Promise<{ mailboxId: string }>;
  searchParams: Promise<SignInFilters>;
}) {
  const me = await requireMe();
  const { mailboxId } = await params;
  // A mailbox user cannot read /mailboxes/{id}: their own address is in /me; for any other id the log's answer decides.
  const mb = me.mailbox
    ? me.mailbox.id === mailboxId
      ? me.mailbox
      : undefined
    : await apiGet<Mailbox>(`/mailboxes/${encodeURIComponent(mailboxId)}`);
  const address = mb?.address ?? 'this mailbox';
  const base = `/mailboxes/${encodeURIComponent(mb?.id ?? mailboxId)}`;
  return (
    <>
      <PageHeader
        back={me.mailbox ? { href: '/', label: me.mailbox.address } : { href: base, label: address }}
        title={`Sign-in activity of ${address}`}
        description="Every sign-in over POP3 and the panel, and every attempt refused: a wrong password, a disabled account, a sign-in too soon or while another session holds the mailbox."
      />
      <SignInsView log={mailboxSignInLog(mb?.id ?? mailboxId, address)} basePath={`${base}/sign-ins`} filters={await searchParams} />
    </>
  );
}
