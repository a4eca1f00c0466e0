import type { Metadata } from 'next';
import { Badge, Card, EmptyState, PageHeader } from '@/components/ui';
import { apiGet, requireUser } from '@/lib/api';
import { formatDateTime } from '@/lib/format';
import type { ApiKey, Domain, Page } from '@/lib/types';
import { CreateKeyForm, RevokeKey } from './key-forms';

export const metadata: Metadata = { title: 'API keys' };

export default async function KeysPage() {
  await requireUser();
  const [keys, domains] = await Promise.all([apiGet<Page<ApiKey>>('/api-keys?limit=200'), apiGet<Page<Domain>>('/domains?limit=200')]);
  const domainName = new Map(domains.items.map((d) => [d.id, d.name]));
  const now = Date.now();
  return (
    <>
      <PageHeader title="API keys" description="Let your own systems (billing, onboarding scripts) manage Mailroom with the REST API. A key never has more rights than you." />
      <div className="space-y-8">
        <CreateKeyForm domains={domains.items.map((d) => ({ id: d.id, name: d.name }))} />
        <Card id="keys" title="Your keys">
          {keys.items.length === 0 ? (
            <EmptyState title="No API keys yet">Create one above, then send it as “Authorization: Bearer &lt;key&gt;”. The API is documented at /api/docs.</EmptyState>
          ) : (
            <ul className="-my-3 divide-y divide-slate-100">
              {keys.items.map((k) => {
                const expired = k.expiresAt !== null && Date.parse(k.expiresAt) <= now;
                return (
                  <li key={k.id} className="flex flex-wrap items-start justify-between gap-3 py-3">
                    <div className="min-w-0">
                      <p className="font-medium text-slate-900">
                        {k.name} <span className="ml-1 font-mono text-xs text-slate-600">mr_{k.prefix}_…</span>{' '}
                        {k.revokedAt ? <Badge tone="red">Revoked</Badge> : expired ? <Badge tone="amber">Expired</Badge> : <Badge tone="green">Active</Badge>}
                      </p>
                      <p className="mt-1 text-xs text-slate-600">{k.scopes.join(', ')}</p>
                      <p className="mt-1 text-xs text-slate-600">
                        {k.domainIds.length ? `Only ${k.domainIds.map((id) => domainName.get(id) ?? id).join(', ')}` : 'All your domains'} · created {formatDateTime(k.createdAt)} · last used {formatDateTime(k.lastUsedAt)}
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
        </Card>
      </div>
    </>
  );
}
