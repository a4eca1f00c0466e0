import type { Metadata } from 'next';
import Link from 'next/link';
import { Alert, Badge, Card, PageHeader, UsageBar } from '@/components/ui';
import { Pager } from '@/components/pager';
import { ownerSignInLog, RecentSignIns } from '@/components/sign-ins';
import { apiGet, qs, requireUser } from '@/lib/api';
import { formatDateTime, formatPasswordChanged } from '@/lib/format';
import type { Domain, Owner, Page } from '@/lib/types';
import { OwnerForm } from '../owner-form';
import { DeleteOwner } from './delete-owner';
import { ResetSecondFactors } from './reset-second-factors';

export const metadata: Metadata = { title: 'Owner' };

export default async function OwnerPage({
  params,
  searchParams,
}: {
  params: Promise<{ ownerId: string }>;
  searchParams: Promise<{ created?: string; cursor?: string }>;
}) {
  await requireUser('ADMIN');
  const { ownerId } = await params;
  const { created, cursor } = await searchParams;
  const owner = await apiGet<Owner>(`/owners/${encodeURIComponent(ownerId)}`);
  const domains = await apiGet<Page<Domain>>(`/domains${qs({ ownerId: owner.id, cursor, limit: 50 })}`);
  return (
    <>
      <PageHeader
        back={{ href: '/admin/owners', label: 'Owners' }}
        title={owner.email}
        description={owner.displayName ?? 'Domain owner'}
        actions={owner.disabled ? <Badge tone="red">Disabled</Badge> : <Badge tone="green">Active</Badge>}
      />
      <div className="space-y-8">
        {created && <Alert tone="success">Owner created. They can sign in now.</Alert>}
        <Card
          title="Account and limits"
          description={`Last sign-in: ${formatDateTime(owner.lastLoginAt)}. Password last changed: ${formatPasswordChanged(owner.passwordChangedAt)}.`}
        >
          <OwnerForm owner={owner} />
        </Card>
        <Card id="owner-domains" title="Domains" description={`${owner.usage.domains} domain(s), ${owner.usage.mailboxes} mailbox(es)`}>
          {domains.items.length === 0 ? (
            <p className="text-sm text-slate-600">This owner has no domains yet.</p>
          ) : (
            <ul className="-my-2 divide-y divide-slate-100">
              {domains.items.map((d) => (
                <li key={d.id} className="grid grid-cols-1 gap-2 py-2 sm:grid-cols-[1fr_12rem] sm:items-center">
                  <Link href={`/domains/${d.id}`} className="font-medium break-all text-brand-700 hover:underline">
                    {d.name}
                  </Link>
                  <UsageBar used={d.usedBytes} limit={d.maxStorageBytes} label={`Storage of ${d.name}`} />
                </li>
              ))}
            </ul>
          )}
          <Pager
            basePath={`/admin/owners/${owner.id}`}
            params={{}}
            cursor={cursor}
            nextCursor={domains.nextCursor}
            fragment="owner-domains"
            label="Domain pages"
          />
        </Card>
        <RecentSignIns
          log={ownerSignInLog(owner.id)}
          logPath={`/admin/owners/${owner.id}/sign-ins`}
          passwordChangedAt={owner.passwordChangedAt}
        />
        <ResetSecondFactors owner={owner} />
        <DeleteOwner owner={owner} />
      </div>
    </>
  );
}
