import type { Metadata } from 'next';
import Link from 'next/link';
import { AppPasswordsCard } from '@/components/app-passwords-card';
import { ConnectionCard } from '@/components/connection-card';
import { DashboardNotice } from '@/components/dashboard-notice';
import { DomainStatusBadges } from '@/components/domain-status';
import { Pager } from '@/components/pager';
import { WebhookFailingNotice } from '@/components/webhook-failing-notice';
import { WaitingMessages } from '@/components/waiting-messages';
import { PasswordWarnings } from '@/components/password-warnings';
import { QuotaWarnings } from '@/components/quota-warnings';
import { SenderRulesCard, senderRulesPath } from '@/components/sender-rules-card';
import { mailboxSignInLog, RecentSignIns } from '@/components/sign-ins';
import { ButtonLink, Card, EmptyState, PageHeader, SearchForm, Stat, UsageBar } from '@/components/ui';
import { apiGet, qs, requireMe } from '@/lib/api';
import { formatBytes, formatDateTime } from '@/lib/format';
import type { AppPasswordList, Domain, DomainSummary, Page, SenderRule } from '@/lib/types';

export const metadata: Metadata = { title: 'Dashboard' };

export default async function DashboardPage({
  searchParams,
}: {
  searchParams: Promise<{ cursor?: string; q?: string; ruleCursor?: string }>;
}) {
  const me = await requireMe();
  const { cursor, q, ruleCursor } = await searchParams;
  if (me.mailbox) return <MailboxHome me={me} ruleCursor={ruleCursor} />;
  const user = me.user!;
  const page = await apiGet<Page<Domain>>(`/domains${qs({ limit: 50, cursor, q })}`);
  const isAdmin = user.role === 'ADMIN';
  // What needs attention, counted over every domain by the API (the page itself shows 50).
  const { mxFlagged, mtaStsFlagged, pending } = await apiGet<DomainSummary>('/domains/summary');
  return (
    <>
      <PageHeader
        title={isAdmin ? 'All domains' : 'Your domains'}
        description={isAdmin ? 'Every hosted domain, across all owners.' : 'Mail domains you host with Mailroom, and their mailboxes.'}
        actions={<ButtonLink href="/domains/new">Add domain</ButtonLink>}
      />
      <WebhookFailingNotice userId={user.id} />
      {!isAdmin && (
        <dl className="mb-8 grid grid-cols-1 gap-4 sm:grid-cols-3">
          <Stat
            label="Domains"
            value={`${user.usage.domains}${user.maxDomains !== null ? ` / ${user.maxDomains}` : ''}`}
            sub={
              <p className="text-xs text-slate-600">
                {user.maxDomains === null ? 'No limit' : `${Math.max(0, user.maxDomains - user.usage.domains)} left`}
              </p>
            }
          />
          <Stat
            label="Mailboxes"
            value={`${user.usage.mailboxes}${user.maxMailboxes !== null ? ` / ${user.maxMailboxes}` : ''}`}
            sub={
              <p className="text-xs text-slate-600">
                {user.maxMailboxes === null ? 'No limit' : `${Math.max(0, user.maxMailboxes - user.usage.mailboxes)} left`}
              </p>
            }
          />
          <Stat
            label="Storage"
            value={formatBytes(user.usage.usedBytes)}
            sub={<UsageBar used={user.usage.usedBytes} limit={user.maxStorageBytes} label="Storage used across your domains" />}
          />
        </dl>
      )}
      <PasswordWarnings />
      <QuotaWarnings />
      {(mxFlagged > 0 || mtaStsFlagged > 0 || pending > 0) && (
        <DashboardNotice id="attention" tone="amber" title="Needs attention">
          <ul className="mt-1 list-disc space-y-0.5 pl-5">
            {mxFlagged > 0 && (
              <li>
                {mxFlagged} domain{mxFlagged === 1 ? '' : 's'}: the MX record no longer points here, so mail may not reach Mailroom (marked{' '}
                &ldquo;No MX record&rdquo; or &ldquo;MX points elsewhere&rdquo; below). Open the domain and press Check DNS.
              </li>
            )}
            {mtaStsFlagged > 0 && (
              <li>
                {mtaStsFlagged} domain{mtaStsFlagged === 1 ? '' : 's'}: the MTA-STS record does not name the policy served now, so senders
                keep an older one (marked &ldquo;MTA-STS record out of date&rdquo; or &ldquo;No MTA-STS record&rdquo; below). Publish the
                TXT record listed under the domain&apos;s DNS records.
              </li>
            )}
            {pending > 0 && (
              <li>
                {pending} domain{pending === 1 ? '' : 's'} awaiting ownership verification (marked &ldquo;Pending verification&rdquo;
                below): publish the TXT record shown on the domain&apos;s page, then press Verify. Nothing is hosted until then.
              </li>
            )}
          </ul>
        </DashboardNotice>
      )}
      {(q || page.items.length > 0) && (
        <SearchForm action="/" id="domain-q" label="Search domains" placeholder="Search domains" q={q} clearable />
      )}
      {q && page.items.length === 0 ? (
        <EmptyState level={2} title={`No domain matches “${q}”`}>
          Try another part of the name.
        </EmptyState>
      ) : page.items.length === 0 && !cursor ? (
        <EmptyState level={2} title="No domains yet" action={<ButtonLink href="/domains/new">Add your first domain</ButtonLink>}>
          Add a domain you own, prove it with a DNS record, point its MX record at this server, then create mailboxes for the people who use
          it.
        </EmptyState>
      ) : (
        <Card title={`${page.items.length}${page.nextCursor ? '+' : ''} domain${page.items.length === 1 ? '' : 's'}`} id="domains">
          <ul className="-my-2 divide-y divide-slate-100">
            {page.items.map((d) => (
              <li key={d.id} className="grid grid-cols-1 gap-3 py-3 sm:grid-cols-[1fr_10rem_12rem] sm:items-center">
                <div className="min-w-0">
                  <Link href={`/domains/${d.id}`} className="font-medium break-all text-brand-700 hover:underline">
                    {d.name}
                  </Link>
                  <div className="mt-1 flex flex-wrap items-center gap-2 text-xs text-slate-600">
                    <DomainStatusBadges domain={d} expiry />
                    {d.aliasOf && <span>Alias of {d.aliasOf.name}</span>}
                    {isAdmin && <span>Owner: {d.ownerEmail}</span>}
                    <span>Added {formatDateTime(d.createdAt).slice(0, 10)}</span>
                  </div>
                </div>
                <p className="text-sm text-slate-700">
                  {d.aliasOf ? (
                    <span className="text-xs text-slate-600">No mailboxes: mail goes to {d.aliasOf.name}</span>
                  ) : (
                    <>
                      {d.mailboxCount}
                      {d.maxMailboxes !== null ? ` / ${d.maxMailboxes}` : ''} mailbox{d.mailboxCount === 1 ? '' : 'es'}
                      <br />
                      <span className="text-xs text-slate-600">
                        {d.aliasCount} alias{d.aliasCount === 1 ? '' : 'es'}
                      </span>
                    </>
                  )}
                </p>
                <UsageBar used={d.usedBytes} limit={d.maxStorageBytes} label={`Storage of ${d.name}`} />
              </li>
            ))}
          </ul>
          <Pager basePath="/" params={{ q }} cursor={cursor} nextCursor={page.nextCursor} />
        </Card>
      )}
    </>
  );
}

async function MailboxHome({ me, ruleCursor }: { me: Awaited<ReturnType<typeof requireMe>>; ruleCursor: string | undefined }) {
  const mb = me.mailbox!;
  const [appPasswords, senderRules] = await Promise.all([
    apiGet<AppPasswordList>(`/mailboxes/${mb.id}/app-passwords`),
    apiGet<Page<SenderRule>>(senderRulesPath({ kind: 'mailbox', id: mb.id }, ruleCursor)),
  ]);
  return (
    <>
      <PageHeader
        title={mb.address}
        description={mb.displayName ?? 'Your mailbox'}
        actions={
          <ButtonLink href="/account" variant="secondary">
            Change password
          </ButtonLink>
        }
      />
      {!mb.enabled && (
        <p className="mb-6 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 ring-1 ring-amber-600/30 ring-inset">
          This mailbox is disabled: it cannot receive mail or be read over POP3. Contact your domain owner.
        </p>
      )}
      <dl className="mb-8 grid grid-cols-1 gap-4 sm:grid-cols-3">
        <Stat label="Messages waiting" value={mb.messageCount} />
        <Stat
          label="Storage"
          value={formatBytes(mb.usedBytes)}
          sub={<UsageBar used={mb.usedBytes} limit={mb.quotaBytes} label="Mailbox storage against quota" />}
        />
        <Stat label="Last POP3 login" value={<span className="text-base">{formatDateTime(mb.lastLoginAt)}</span>} />
      </dl>
      <div className="space-y-8">
        <WaitingMessages mailboxId={mb.id} address={mb.address} canBlock={mb.mayChangeSenderRules} />
        <ConnectionCard address={mb.address} profilePath="/me/mobileconfig" appPasswordsOnly={appPasswords.effectiveRequiredForPop3} />
        <AppPasswordsCard mailboxId={mb.id} list={appPasswords} viewer="mailbox" />
        <RecentSignIns
          log={mailboxSignInLog(mb.id, mb.address)}
          logPath={`/mailboxes/${mb.id}/sign-ins`}
          passwordChangedAt={mb.passwordChangedAt}
        />
        <SenderRulesCard
          list={{ kind: 'mailbox', id: mb.id, name: mb.address }}
          page={senderRules}
          basePath="/"
          params={{}}
          cursor={ruleCursor}
          readOnly={!mb.mayChangeSenderRules}
        />
      </div>
    </>
  );
}
