import type { Metadata } from 'next';
import { Badge, Card, EmptyState, PageHeader } from '@/components/ui';
import { Pager } from '@/components/pager';
import { apiGet, apiGetRaw, qs, requireUser } from '@/lib/api';
import { formatDateTime } from '@/lib/format';
import type { ApiKey, Domain, Page } from '@/lib/types';
import { CreateKeyForm, RevokeKey } from './key-forms';

export const metadata: Metadata = { title: 'API keys' };

/** Keys per page; the domain names a page's keys are restricted to are looked up one by one (at most this many). */
const KEY_PAGE = 50;
const MAX_NAME_LOOKUPS = 100;

export default async function KeysPage({ searchParams }: { searchParams: Promise<{ cursor?: string }> }) {
  await requireUser();
  const { cursor } = await searchParams;
  const [keys, anyDomain] = await Promise.all([
    apiGet<Page<ApiKey>>(`/api-keys${qs({ cursor, limit: KEY_PAGE })}`),
    apiGet<Page<Domain>>('/domains?limit=1'),
  ]);
  const ids = [...new Set(keys.items.flatMap((k) => k.domainIds))].slice(0, MAX_NAME_LOOKUPS);
  const named = await Promise.all(ids.map(async (id) => [id, (await apiGetRaw<Domain>(`/domains/${id}`)).data?.name] as const));
  const domainName = new Map(named.filter((n): n is readonly [string, string] => n[1] !== undefined));
  // eslint-disable-next-line react-hooks/purity -- an async Server Component renders once per request: this is its time
  const now = Date.now();
  return (
    <>
      <PageHeader
        title="API keys"
        description="Let your own systems (billing, onboarding scripts) manage Mailroom with the REST API. A key never has more rights than you."
      />
      <div className="space-y-8">
        <CreateKeyForm hasDomains={anyDomain.items.length > 0} />
        <Card id="keys" title="Your keys">
          {keys.items.length === 0 ? (
            <EmptyState title="No API keys yet">
              Create one above, then send it as “Authorization: Bearer &lt;key&gt;”. The API is documented at /api/docs.
            </EmptyState>
          ) : (
            <ul className="-my-3 divide-y divide-slate-100">
              {keys.items.map((k) => {
                const expired = k.expiresAt !== null && Date.parse(k.expiresAt) <= now;
                return (
                  <li key={k.id} className="flex flex-wrap items-start justify-between gap-3 py-3">
                    <div className="min-w-0">
                      <p className="font-medium text-slate-900">
                        {k.name} <span className="ml-1 font-mono text-xs text-slate-600">mr_{k.prefix}_…</span>{' '}
                        {k.revokedAt ? (
                          <Badge tone="red">Revoked</Badge>
                        ) : expired ? (
                          <Badge tone="amber">Expired</Badge>
                        ) : (
                          <Badge tone="green">Active</Badge>
                        )}
                      </p>
                      <p className="mt-1 text-xs text-slate-600">{k.scopes.join(', ')}</p>
                      <p className="mt-1 text-xs text-slate-600">
                        {k.domainIds.length ? `Only ${k.domainIds.map((id) => domainName.get(id) ?? id).join(', ')}` : 'All your domains'} ·
                        created {formatDateTime(k.createdAt)} · last used {formatDateTime(k.lastUsedAt)}
                        {k.lastUsedIp ? ` from ${k.lastUsedIp}` : ''}
                        {k.expiresAt ? ` · expires ${formatDateTime(k.expiresAt)}` : ''}
                      </p>
                    </div>
                    {!k.revokedAt && <RevokeKey id={k.id} name={k.name} />}
                  </li>
                );
              })}
            </ul>
          )}
          <Pager basePath="/keys" params={{}} cursor={cursor} nextCursor={keys.nextCursor} />
        </Card>
      </div>
    </>
  );
}
