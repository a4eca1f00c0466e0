import type { Metadata } from 'next';
import Link from 'next/link';
import { Pager } from '@/components/pager';
import { DayRangeInputs, FilterButtons, FilterInput, FilterSelect, InvalidFiltersAlert, utcDay } from '@/components/filter-fields';
import { Card, EmptyState, inputClass, labelClass, ListTable, PageHeader } from '@/components/ui';
import { ApiError, apiGetRaw, qs, requireUser } from '@/lib/api';
import { formatDateTime } from '@/lib/format';
import type { AuditEvent, Page } from '@/lib/types';

export const metadata: Metadata = { title: 'Audit log' };

type Filters = { action?: string; actorId?: string; targetType?: string; targetId?: string; from?: string; to?: string; cursor?: string };

function dayStart(d?: string): string | undefined {
  return d && /^\d{4}-\d{2}-\d{2}$/.test(d) ? `${d}T00:00:00.000Z` : undefined;
}

const TARGET_TYPES = ['owner', 'user', 'domain', 'mailbox', 'alias', 'sender-rule', 'api-key'].map((t) => ({ value: t, label: t }));
const ACTION_SUGGESTIONS = [
  'auth.login',
  'owner.',
  'domain.',
  'mailbox.',
  'mailbox.create',
  'mailbox.delete',
  'mailbox.password.set',
  'alias.',
  'sender-rule.',
  'api-key.',
  'user.password.change',
];

export default async function AuditPage({ searchParams }: { searchParams: Promise<Filters> }) {
  const me = await requireUser();
  const isAdmin = me.user.role === 'ADMIN';
  const f = await searchParams;
  const r = await apiGetRaw<Page<AuditEvent>>(
    `/audit-events${qs({ limit: 50, cursor: f.cursor, action: f.action?.trim(), actorId: f.actorId?.trim(), targetType: f.targetType, targetId: f.targetId?.trim(), from: dayStart(f.from), to: utcDay(f.to, 1) })}`,
  );
  if (r.status >= 400 && r.status !== 400) throw new ApiError(r.status, r.problem);
  const page: Page<AuditEvent> = r.data ?? { items: [], nextCursor: null };
  const filters = { action: f.action, actorId: f.actorId, targetType: f.targetType, targetId: f.targetId, from: f.from, to: f.to };
  const filtered = Object.values(filters).some(Boolean);
  return (
    <>
      <PageHeader
        title={isAdmin ? 'Audit log' : 'Activity'}
        description={`${isAdmin ? 'Every change' : 'Every change to your account and domains'}: who made it (user or API key), from where, and which fields changed. Secrets are never recorded.`}
      />
      <Card className="mb-6" title="Filters">
        <form action="/audit" className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3">
          <div>
            <label htmlFor="action" className={labelClass}>
              Action
            </label>
            <input
              id="action"
              name="action"
              list="audit-actions"
              defaultValue={f.action}
              placeholder="mailbox.create, or mailbox. for all"
              aria-describedby="action-hint"
              className={inputClass + ' mt-1'}
            />
            <datalist id="audit-actions">
              {ACTION_SUGGESTIONS.map((a) => (
                <option key={a} value={a} />
              ))}
            </datalist>
            <p id="action-hint" className="mt-1 text-xs text-slate-600">
              An exact action, or a prefix ending in a dot.
            </p>
          </div>
          <FilterSelect id="targetType" label="Target type" name="targetType" value={f.targetType} options={TARGET_TYPES} />
          <FilterInput id="targetId" label="Target id" name="targetId" defaultValue={f.targetId} className="font-mono" />
          <FilterInput id="actorId" label="Actor id" name="actorId" defaultValue={f.actorId} className="font-mono" />
          <DayRangeInputs from={f.from} to={f.to} />
          <FilterButtons clearHref="/audit" filtered={filtered} className="flex gap-2 sm:col-span-2 lg:col-span-3" />
        </form>
      </Card>
      <Card title="Events">
        <InvalidFiltersAlert answer={r} />
        {page.items.length === 0 ? (
          <EmptyState title={filtered ? 'No events match these filters' : 'No events yet'}>
            {filtered ? 'Widen the time range or clear a filter.' : 'Changes made in the panel or through the API appear here.'}
          </EmptyState>
        ) : (
          <ListTable
            caption="Audit events, newest first"
            columns={['When', 'Action', 'Actor', 'Target', { label: 'Details', className: 'hidden px-4 py-2 md:table-cell' }]}
          >
            <tbody className="divide-y divide-slate-100 align-top">
              {page.items.map((e) => (
                <tr key={e.id}>
                  <td className="px-4 py-2 whitespace-nowrap text-slate-700 sm:px-6">{formatDateTime(e.createdAt)}</td>
                  <td className="px-4 py-2 font-mono text-xs text-slate-900">
                    <Link href={`/audit${qs({ action: e.action })}`} className="hover:underline">
                      {e.action}
                    </Link>
                  </td>
                  <td className="px-4 py-2 text-slate-700">
                    {e.actorId ? (
                      <Link href={`/audit${qs({ actorId: e.actorId })}`} className="break-all hover:underline">
                        {e.actorLabel}
                      </Link>
                    ) : (
                      e.actorLabel
                    )}
                    {e.apiKeyId && <span className="block text-xs text-slate-600">via API key</span>}
                    {e.ip && <span className="block text-xs text-slate-600">{e.ip}</span>}
                  </td>
                  <td className="px-4 py-2 text-slate-700">
                    {e.targetType}
                    {e.targetId && (
                      <Link
                        href={`/audit${qs({ targetId: e.targetId })}`}
                        className="block font-mono text-xs break-all text-slate-600 hover:underline"
                      >
                        {e.targetId}
                      </Link>
                    )}
                  </td>
                  <td className="hidden max-w-xs px-4 py-2 md:table-cell">
                    <code className="block font-mono text-xs break-all whitespace-pre-wrap text-slate-700">
                      {Object.keys(e.details).length ? JSON.stringify(e.details) : '—'}
                    </code>
                  </td>
                </tr>
              ))}
            </tbody>
          </ListTable>
        )}
        <Pager basePath="/audit" params={filters} cursor={f.cursor} nextCursor={page.nextCursor} />
      </Card>
    </>
  );
}
