import type { Metadata } from 'next';
import Link from 'next/link';
import { Pager } from '@/components/pager';
import { Alert, buttonClass, Card, EmptyState, inputClass, labelClass, PageHeader } from '@/components/ui';
import { ApiError, apiGetRaw, qs, requireUser } from '@/lib/api';
import { formatDateTime } from '@/lib/format';
import type { AuditEvent, Page } from '@/lib/types';

export const metadata: Metadata = { title: 'Audit log' };

type Filters = { action?: string; actorId?: string; targetType?: string; targetId?: string; from?: string; to?: string; cursor?: string };

function dayStart(d?: string): string | undefined {
  return d && /^\d{4}-\d{2}-\d{2}$/.test(d) ? `${d}T00:00:00.000Z` : undefined;
}
function dayEnd(d?: string): string | undefined {
  if (!d || !/^\d{4}-\d{2}-\d{2}$/.test(d)) return undefined;
  const t = new Date(`${d}T00:00:00.000Z`);
  t.setUTCDate(t.getUTCDate() + 1);
  return t.toISOString();
}

const TARGET_TYPES = ['owner', 'user', 'domain', 'mailbox', 'alias', 'api-key'];
const ACTION_SUGGESTIONS = [
  'auth.login',
  'owner.',
  'domain.',
  'mailbox.',
  'mailbox.create',
  'mailbox.delete',
  'mailbox.password.set',
  'alias.',
  'api-key.',
  'user.password.change',
];

export default async function AuditPage({ searchParams }: { searchParams: Promise<Filters> }) {
  const me = await requireUser();
  const isAdmin = me.user.role === 'ADMIN';
  const f = await searchParams;
  const r = await apiGetRaw<Page<AuditEvent>>(
    `/audit-events${qs({ limit: 50, cursor: f.cursor, action: f.action?.trim(), actorId: f.actorId?.trim(), targetType: f.targetType, targetId: f.targetId?.trim(), from: dayStart(f.from), to: dayEnd(f.to) })}`,
  );
  if (r.status >= 400 && r.status !== 400) throw new ApiError(r.status, r.problem);
  const page: Page<AuditEvent> = r.data ?? { items: [], nextCursor: null };
  const invalid =
    r.status === 400 ? (r.problem?.errors?.map((e) => e.message).join('; ') ?? r.problem?.detail ?? 'Check the filters.') : undefined;
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
          <div>
            <label htmlFor="targetType" className={labelClass}>
              Target type
            </label>
            <select id="targetType" name="targetType" defaultValue={f.targetType ?? ''} className={inputClass + ' mt-1'}>
              <option value="">Any</option>
              {TARGET_TYPES.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="targetId" className={labelClass}>
              Target id
            </label>
            <input id="targetId" name="targetId" defaultValue={f.targetId} className={inputClass + ' mt-1 font-mono'} />
          </div>
          <div>
            <label htmlFor="actorId" className={labelClass}>
              Actor id
            </label>
            <input id="actorId" name="actorId" defaultValue={f.actorId} className={inputClass + ' mt-1 font-mono'} />
          </div>
          <div>
            <label htmlFor="from" className={labelClass}>
              From (UTC day)
            </label>
            <input id="from" name="from" type="date" defaultValue={f.from} className={inputClass + ' mt-1'} />
          </div>
          <div>
            <label htmlFor="to" className={labelClass}>
              To (UTC day, inclusive)
            </label>
            <input id="to" name="to" type="date" defaultValue={f.to} className={inputClass + ' mt-1'} />
          </div>
          <div className="flex gap-2 sm:col-span-2 lg:col-span-3">
            <button type="submit" className={buttonClass('primary')}>
              Apply filters
            </button>
            {filtered && (
              <Link href="/audit" className={buttonClass('ghost')}>
                Clear
              </Link>
            )}
          </div>
        </form>
      </Card>
      <Card title="Events">
        {invalid && (
          <div className="mb-4">
            <Alert>The filters are not valid: {invalid}</Alert>
          </div>
        )}
        {page.items.length === 0 ? (
          <EmptyState title={filtered ? 'No events match these filters' : 'No events yet'}>
            {filtered ? 'Widen the time range or clear a filter.' : 'Changes made in the panel or through the API appear here.'}
          </EmptyState>
        ) : (
          <div className="-mx-4 overflow-x-auto sm:-mx-6">
            <table className="min-w-full text-left text-sm">
              <caption className="sr-only">Audit events, newest first</caption>
              <thead className="border-b border-slate-200 text-xs font-semibold tracking-wide text-slate-600 uppercase">
                <tr>
                  <th scope="col" className="px-4 py-2 sm:px-6">
                    When
                  </th>
                  <th scope="col" className="px-4 py-2">
                    Action
                  </th>
                  <th scope="col" className="px-4 py-2">
                    Actor
                  </th>
                  <th scope="col" className="px-4 py-2">
                    Target
                  </th>
                  <th scope="col" className="hidden px-4 py-2 md:table-cell">
                    Details
                  </th>
                </tr>
              </thead>
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
            </table>
          </div>
        )}
        <Pager basePath="/audit" params={filters} cursor={f.cursor} nextCursor={page.nextCursor} />
      </Card>
    </>
  );
}
