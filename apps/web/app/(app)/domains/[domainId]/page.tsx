import type { Metadata } from 'next';
import { DomainStatusBadges } from '@/components/domain-status';
import { Pager } from '@/components/pager';
import { Pop3PolicyForm } from '@/components/pop3-policy-form';
import { Alert, ButtonLink, Card, EmptyState, PageHeader, SearchForm } from '@/components/ui';
import { apiGet, qs, requireUser } from '@/lib/api';
import { formatBytes } from '@/lib/format';
import type { Alias, Domain, DomainDns, DomainMtaSts, Mailbox, Page, SenderRule } from '@/lib/types';
import { AliasEditor } from './alias-editor';
import { AliasDomainsCard, AliasTargetCard } from './alias-domains';
import { DnsRecords } from './dns-records';
import { RecentDeliveries } from '@/components/delivery-log';
import { SenderRulesCard, senderRulesPath } from '@/components/sender-rules-card';
import { QuotaWarningSettings } from './quota-warning-settings';
import { GreylistingSettings } from './greylisting-settings';
import { DomainSettings } from './domain-settings';
import { MailboxImportExport } from './mailbox-import';
import { MailboxTable } from './mailbox-table';
import { MtaStsSettings } from './mta-sts-settings';
import { VerifyDomain } from './verify-domain';

export const metadata: Metadata = { title: 'Domain' };

const ALIAS_PAGE = 50;
const ALIAS_DOMAIN_PAGE = 50;

export default async function DomainPage({
  params,
  searchParams,
}: {
  params: Promise<{ domainId: string }>;
  searchParams: Promise<{ q?: string; cursor?: string; verified?: string; aliasCursor?: string; ruleCursor?: string }>;
}) {
  const me = await requireUser();
  const { domainId } = await params;
  const { q, cursor, verified, aliasCursor, ruleCursor } = await searchParams;
  const domain = await apiGet<Domain>(`/domains/${encodeURIComponent(domainId)}`);
  const pending = domain.verificationStatus === 'pending';
  const base = `/domains/${domain.id}`;
  if (domain.aliasOf)
    return <AliasDomainPage domain={domain} target={domain.aliasOf} isAdmin={me.user.role === 'ADMIN'} verified={verified} />;
  const [mailboxes, aliases, dns, aliasDomains, senderRules, mtaSts] = await Promise.all([
    apiGet<Page<Mailbox>>(`/domains/${domain.id}/mailboxes${qs({ q, cursor, limit: 25 })}`),
    apiGet<Page<Alias>>(`/domains/${domain.id}/aliases${qs({ cursor: aliasCursor, limit: ALIAS_PAGE })}`),
    apiGet<DomainDns>(`/domains/${domain.id}/dns`),
    pending ? undefined : apiGet<Page<Domain>>(`/domains${qs({ aliasOf: domain.id, limit: ALIAS_DOMAIN_PAGE })}`),
    apiGet<Page<SenderRule>>(senderRulesPath({ kind: 'domain', id: domain.id }, ruleCursor)),
    apiGet<DomainMtaSts>(`/domains/${domain.id}/mta-sts`),
  ]);
  return (
    <>
      <PageHeader
        back={{ href: '/', label: 'Domains' }}
        title={domain.name}
        description={
          <>
            {domain.description ? `${domain.description} · ` : ''}
            {domain.mailboxCount}
            {domain.maxMailboxes !== null ? ` of ${domain.maxMailboxes}` : ''} mailbox{domain.mailboxCount === 1 ? '' : 'es'} ·{' '}
            {formatBytes(domain.usedBytes)} stored
            {me.user.role === 'ADMIN' ? ` · owner ${domain.ownerEmail}` : ''}
          </>
        }
        actions={
          <>
            <div className="flex flex-wrap items-center gap-2 self-center">
              <DomainStatusBadges domain={domain} expiry />
            </div>
            <ButtonLink href={`${base}/mailboxes/new`}>New mailbox</ButtonLink>
          </>
        }
      />
      <div className="space-y-8">
        {verified && !pending && (
          <Alert tone="success">Domain verified: {domain.name} is now active. Mail is accepted once its MX record points here.</Alert>
        )}
        {pending && <VerifyDomain domain={domain} />}
        <Card id="mailboxes" title="Mailboxes">
          <MailboxImportExport domainId={domain.id} domainName={domain.name} />
          <SearchForm action={base} id="q" label="Search mailboxes" placeholder="Search by address or name" q={q} clearable />
          {mailboxes.items.length === 0 ? (
            q ? (
              <EmptyState title={`No mailbox matches “${q}”`}>Try part of the address or the display name.</EmptyState>
            ) : (
              <EmptyState title="No mailboxes yet" action={<ButtonLink href={`${base}/mailboxes/new`}>Create a mailbox</ButtonLink>}>
                Create a mailbox for each person who should collect mail for {domain.name} over POP3.
              </EmptyState>
            )
          ) : (
            <MailboxTable
              domainId={domain.id}
              domainName={domain.name}
              items={mailboxes.items}
              q={q}
              hasMore={Boolean(cursor || mailboxes.nextCursor)}
            />
          )}
          <Pager basePath={base} params={{ q }} cursor={cursor} nextCursor={mailboxes.nextCursor} />
        </Card>

        <Card
          id="aliases"
          title="Aliases and catch-all"
          description="Deliver extra addresses, or every unknown address of the domain, to existing mailboxes."
        >
          <AliasEditor domainId={domain.id} domainName={domain.name} aliases={aliases.items} hasMailboxes={domain.mailboxCount > 0} />
          <Pager
            basePath={base}
            params={{ q, cursor }}
            cursor={aliasCursor}
            nextCursor={aliases.nextCursor}
            cursorParam="aliasCursor"
            fragment="aliases"
            label="Alias pages"
          />
        </Card>

        {aliasDomains && <AliasDomainsCard domain={domain} aliasDomains={aliasDomains} />}

        <DnsRecords key={`${domain.verificationStatus} ${mtaSts.mode}`} initial={dns} />
        <MtaStsSettings sts={mtaSts} />

        <Pop3PolicyForm kind="domain" id={domain.id} loginDelaySeconds={domain.loginDelaySeconds} retentionDays={domain.retentionDays} />
        <RecentDeliveries apiPath={`/domains/${domain.id}/delivery-log`} logPath={`${base}/delivery-log`} what={domain.name} />

        <DomainSettings domain={domain} isAdmin={me.user.role === 'ADMIN'} />

        <QuotaWarningSettings domain={domain} />

        <GreylistingSettings domain={domain} />

        <SenderRulesCard
          list={{ kind: 'domain', id: domain.id, name: domain.name }}
          page={senderRules}
          basePath={base}
          params={{ q, cursor, aliasCursor }}
          cursor={ruleCursor}
          mailboxUsersAllowed={domain.mailboxUsersSenderRules !== false}
        />
      </div>
    </>
  );
}

/** An alias domain's page: where its mail goes, its verification and DNS records, and its settings (no mailboxes). */
async function AliasDomainPage({
  domain,
  target,
  isAdmin,
  verified,
}: {
  domain: Domain;
  target: NonNullable<Domain['aliasOf']>;
  isAdmin: boolean;
  verified: string | undefined;
}) {
  const pending = domain.verificationStatus === 'pending';
  const [dns, mtaSts] = await Promise.all([
    apiGet<DomainDns>(`/domains/${domain.id}/dns`),
    apiGet<DomainMtaSts>(`/domains/${domain.id}/mta-sts`),
  ]);
  return (
    <>
      <PageHeader
        back={{ href: '/', label: 'Domains' }}
        title={domain.name}
        description={
          <>
            {domain.description ? `${domain.description} · ` : ''}Alias domain of {target.name}
            {isAdmin ? ` · owner ${domain.ownerEmail}` : ''}
          </>
        }
        actions={
          <div className="flex flex-wrap items-center gap-2 self-center">
            <DomainStatusBadges domain={domain} expiry />
          </div>
        }
      />
      <div className="space-y-8">
        {verified && !pending && (
          <Alert tone="success">
            Domain verified: mail to {domain.name} goes to {target.name} once its MX record points here.
          </Alert>
        )}
        {pending && <VerifyDomain domain={domain} />}
        <AliasTargetCard domain={domain} target={target} />
        <DnsRecords key={`${domain.verificationStatus} ${mtaSts.mode}`} initial={dns} />
        <MtaStsSettings sts={mtaSts} />
        <DomainSettings domain={domain} isAdmin={isAdmin} />
      </div>
    </>
  );
}
