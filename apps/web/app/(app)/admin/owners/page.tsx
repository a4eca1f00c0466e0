import type { Metadata } from 'next';
import Link from 'next/link';
import { Pager } from '@/components/pager';
import { Badge, ButtonLink, Card, EmptyState, ListTable, PageHeader, SearchForm, UsageBar } from '@/components/ui';
import { apiGet, qs, requireUser } from '@/lib/api';
import { formatDateTime } from '@/lib/format';
import type { Owner, Page } from '@/lib/types';

export const metadata: Metadata = { title: 'Owners' };

function limit(used: number, max: number | null) {
  return `${used}${max === null ? '' : ` / ${max}`}`;
}

export default async function OwnersPage({ searchParams }: { searchParams: Promise<{ q?: string; cursor?: string }> }) {
  await requireUser('ADMIN');
  const { q, cursor } = await searchParams;
  const owners = await apiGet<Page<Owner>>(`/owners${qs({ q, cursor, limit: 50 })}`);
  return (
    <>
      <PageHeader
        title="Owners"
        description="Customers who manage their own domains, with their limits."
        actions={<ButtonLink href="/admin/owners/new">New owner</ButtonLink>}
      />
      <Card>
        <SearchForm action="/admin/owners" id="q" label="Search owners" placeholder="Search by email" q={q} />
        {owners.items.length === 0 ? (
          <EmptyState
            title={q ? `No owner matches “${q}”` : 'No owners yet'}
            action={q ? undefined : <ButtonLink href="/admin/owners/new">Create the first owner</ButtonLink>}
          >
            {q
              ? 'Try another part of the email address.'
              : 'Create an owner account for each customer; they sign in and manage their own domains.'}
          </EmptyState>
        ) : (
          <ListTable
            caption="Owners"
            columns={[
              'Owner',
              'Domains',
              'Mailboxes',
              { label: 'Storage', className: 'hidden px-4 py-2 md:table-cell' },
              { label: 'Last sign-in', className: 'hidden px-4 py-2 lg:table-cell' },
            ]}
          >
            <tbody className="divide-y divide-slate-100">
              {owners.items.map((o) => (
                <tr key={o.id}>
                  <td className="px-4 py-3 sm:px-6">
                    <Link href={`/admin/owners/${o.id}`} className="font-medium break-all text-brand-700 hover:underline">
                      {o.email}
                    </Link>{' '}
                    {o.disabled && <Badge tone="red">Disabled</Badge>}
                    {o.displayName && <div className="text-xs text-slate-600">{o.displayName}</div>}
                  </td>
                  <td className="px-4 py-3 text-slate-700">{limit(o.usage.domains, o.maxDomains)}</td>
                  <td className="px-4 py-3 text-slate-700">{limit(o.usage.mailboxes, o.maxMailboxes)}</td>
                  <td className="hidden px-4 py-3 md:table-cell">
                    <UsageBar used={o.usage.usedBytes} limit={o.maxStorageBytes} label={`Storage of ${o.email}`} />
                  </td>
                  <td className="hidden px-4 py-3 whitespace-nowrap text-slate-700 lg:table-cell">{formatDateTime(o.lastLoginAt)}</td>
                </tr>
              ))}
            </tbody>
          </ListTable>
        )}
        <Pager basePath="/admin/owners" params={{ q }} cursor={cursor} nextCursor={owners.nextCursor} />
      </Card>
    </>
  );
}
