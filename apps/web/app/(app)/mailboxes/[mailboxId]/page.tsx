import type { Metadata } from 'next';
import Link from 'next/link';
import { AppPasswordsCard } from '@/components/app-passwords-card';
import { ConnectionCard } from '@/components/connection-card';
import { Pop3PolicyForm } from '@/components/pop3-policy-form';
import { RecentDeliveries } from '@/components/delivery-log';
import { SenderRulesCard, senderRulesPath } from '@/components/sender-rules-card';
import { mailboxSignInLog, RecentSignIns } from '@/components/sign-ins';
import { Alert, Badge, PageHeader, Stat, UsageBar } from '@/components/ui';
import { WaitingMessages } from '@/components/waiting-messages';
import { apiGet, qs, requireUser } from '@/lib/api';
import { formatBytes, formatDateTime } from '@/lib/format';
import type { AppPasswordList, Domain, Mailbox, Page, SenderRule } from '@/lib/types';
import { DeleteMailbox, MailboxForm, ResetPasswordForm } from './mailbox-forms';

export const metadata: Metadata = { title: 'Mailbox' };

/** Alias domains named on a mailbox's page at most (the domain's page lists them all). */
const ALIAS_DOMAINS_SHOWN = 10;

export default async function MailboxPage({
  params,
  searchParams,
}: {
  params: Promise<{ mailboxId: string }>;
  searchParams: Promise<{ created?: string; ruleCursor?: string }>;
}) {
  await requireUser();
  const { mailboxId } = await params;
  const { created, ruleCursor } = await searchParams;
  const mb = await apiGet<Mailbox>(`/mailboxes/${encodeURIComponent(mailboxId)}`);
  const [domain, appPasswords, senderRules] = await Promise.all([
    apiGet<Domain>(`/domains/${mb.domainId}`),
    apiGet<AppPasswordList>(`/mailboxes/${mb.id}/app-passwords`),
    apiGet<Page<SenderRule>>(senderRulesPath({ kind: 'mailbox', id: mb.id }, ruleCursor)),
  ]);
  // the same name at the domain's alias domains reaches this mailbox too (those hosted now: verified and enabled)
  const aliasPage = domain.aliasDomainCount
    ? await apiGet<Page<Domain>>(`/domains${qs({ aliasOf: domain.id, limit: ALIAS_DOMAINS_SHOWN })}`)
    : undefined;
  const aliasDomains = aliasPage?.items.filter((d) => d.verificationStatus === 'verified' && d.active) ?? [];
  return (
    <>
      <PageHeader
        back={{ href: `/domains/${mb.domainId}`, label: mb.domain }}
        title={mb.address}
        description={
          <>
            {mb.displayName ?? 'No display name'}
            {aliasDomains.length > 0 && (
              <span className="block">
                Also receives mail as {aliasDomains.map((d) => `${mb.localPart}@${d.name}`).join(', ')}
                {aliasPage?.nextCursor ? ', and at more alias domains of ' + domain.name : ''}
              </span>
            )}
          </>
        }
        actions={mb.enabled ? <Badge tone="green">Enabled</Badge> : <Badge>Disabled</Badge>}
      />
      <div className="space-y-8">
        {domain.verificationStatus === 'pending' && (
          <Alert tone="info">
            {mb.domain} is not verified yet: this mailbox receives no mail and cannot sign in until the domain is verified on{' '}
            <Link href={`/domains/${mb.domainId}#verification`} className="font-medium underline">
              the domain&apos;s page
            </Link>
            .
          </Alert>
        )}
        {created && (
          <Alert tone="success">
            Mailbox created. Send the connection settings below to its user, together with the password you chose.
          </Alert>
        )}
        <dl className="grid grid-cols-1 gap-4 sm:grid-cols-3">
          <Stat label="Messages waiting" value={mb.messageCount} />
          <Stat
            label="Storage"
            value={formatBytes(mb.usedBytes)}
            sub={<UsageBar used={mb.usedBytes} limit={mb.quotaBytes} label={`Storage of ${mb.address}`} />}
          />
          <Stat
            label="Last POP3 login"
            value={<span className="text-base">{formatDateTime(mb.lastLoginAt)}</span>}
            sub={mb.lastLoginIp ? <p className="text-xs text-slate-600">from {mb.lastLoginIp}</p> : undefined}
          />
        </dl>
        <WaitingMessages mailboxId={mb.id} address={mb.address} />
        <ConnectionCard
          address={mb.address}
          profilePath={`/mailboxes/${mb.id}/mobileconfig`}
          appPasswordsOnly={appPasswords.effectiveRequiredForPop3}
        />
        <div className="grid grid-cols-1 gap-8 lg:grid-cols-2">
          <MailboxForm mailbox={mb} />
          <ResetPasswordForm mailboxId={mb.id} address={mb.address} passwordChangedAt={mb.passwordChangedAt} />
        </div>
        <AppPasswordsCard mailboxId={mb.id} list={appPasswords} viewer="user" />
        <Pop3PolicyForm kind="mailbox" id={mb.id} loginDelaySeconds={mb.loginDelaySeconds} retentionDays={mb.retentionDays} />
        <RecentDeliveries apiPath={`/mailboxes/${mb.id}/delivery-log`} logPath={`/mailboxes/${mb.id}/delivery-log`} what={mb.address} />
        <RecentSignIns
          log={mailboxSignInLog(mb.id, mb.address)}
          logPath={`/mailboxes/${mb.id}/sign-ins`}
          passwordChangedAt={mb.passwordChangedAt}
        />
        <SenderRulesCard
          list={{ kind: 'mailbox', id: mb.id, name: mb.address }}
          page={senderRules}
          basePath={`/mailboxes/${mb.id}`}
          params={{}}
          cursor={ruleCursor}
        />
        <DeleteMailbox mailbox={mb} />
      </div>
    </>
  );
}
