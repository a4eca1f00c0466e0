import Link from 'next/link';
import { Pager } from '@/components/pager';
import { Alert, Badge, buttonClass, ButtonLink, Card, EmptyState, inputClass, labelClass } from '@/components/ui';
import { ApiError, apiGet, apiGetRaw, qs } from '@/lib/api';
import { formatBytes, formatDateTime } from '@/lib/format';
import type { DeliveryLogEntry, Page } from '@/lib/types';

/** The delivery log's filters as the panel's query string carries them (dates are UTC days). */
export type DeliveryLogFilters = { result?: string; sender?: string; recipient?: string; from?: string; to?: string; cursor?: string };

const RESULTS = [
  { value: 'delivered', label: 'Delivered' },
  { value: 'refused', label: 'Refused (5xx)' },
  { value: 'deferred', label: 'Deferred (4xx)' },
];

function utcDay(d: string | undefined, plusDays = 0): string | undefined {
  if (!d || !/^\d{4}-\d{2}-\d{2}$/.test(d)) return undefined;
  const t = new Date(`${d}T00:00:00.000Z`);
  t.setUTCDate(t.getUTCDate() + plusDays);
  return t.toISOString();
}

function ResultBadge({ e }: { e: DeliveryLogEntry }) {
  const tone = e.result === 'delivered' ? 'green' : e.result === 'deferred' ? 'amber' : 'red';
  return <Badge tone={tone}>{e.result === 'delivered' ? 'Delivered' : e.result === 'deferred' ? 'Deferred' : 'Refused'}</Badge>;
}

/** Entries, newest first: what happened to each recipient, and why. */
export function DeliveryLogTable({ entries, caption }: { entries: DeliveryLogEntry[]; caption: string }) {
  return (
    <div className="-mx-4 overflow-x-auto sm:-mx-6">
      <table className="min-w-full text-left text-sm">
        <caption className="sr-only">{caption}</caption>
        <thead className="border-b border-slate-200 text-xs font-semibold tracking-wide text-slate-600 uppercase">
          <tr>
            <th scope="col" className="px-4 py-2 sm:px-6">
              When
            </th>
            <th scope="col" className="px-4 py-2">
              Result
            </th>
            <th scope="col" className="px-4 py-2">
              From → To
            </th>
            <th scope="col" className="px-4 py-2">
              Reply
            </th>
            <th scope="col" className="hidden px-4 py-2 lg:table-cell">
              Message
            </th>
            <th scope="col" className="hidden px-4 py-2 md:table-cell">
              Client
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 align-top">
          {entries.map((e) => (
            <tr key={e.id}>
              <td className="px-4 py-2 whitespace-nowrap text-slate-700 sm:px-6">{formatDateTime(e.createdAt)}</td>
              <td className="px-4 py-2">
                <ResultBadge e={e} />
              </td>
              <td className="px-4 py-2 break-all text-slate-700">
                <span className="block">{e.envelopeFrom || '<> (bounce)'}</span>
                <span className="block text-slate-900">→ {e.recipient}</span>
              </td>
              <td className="px-4 py-2 text-slate-700">
                <span className="font-mono text-xs">
                  {e.replyCode} {e.enhancedCode}
                </span>
                {e.reason && <span className="block">{e.reason}</span>}
                {e.uid !== null && <span className="block text-xs text-slate-600">stored as UID {e.uid}</span>}
              </td>
              <td className="hidden max-w-xs px-4 py-2 text-xs break-all text-slate-600 lg:table-cell">
                {e.messageId ?? '—'}
                {e.sizeOctets !== null && <span className="block">{formatBytes(e.sizeOctets)}</span>}
              </td>
              <td className="hidden px-4 py-2 text-xs text-slate-600 md:table-cell">
                {e.clientAddress}
                <span className="block">
                  {e.protocol} · {e.queueId}
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The full, searchable log of a domain or mailbox (its own page): filters, entries, cursor pages. */
export async function DeliveryLogView({
  apiPath,
  basePath,
  filters: f,
}: {
  apiPath: string;
  basePath: string;
  filters: DeliveryLogFilters;
}) {
  const r = await apiGetRaw<Page<DeliveryLogEntry>>(
    `${apiPath}${qs({ limit: 50, cursor: f.cursor, result: f.result, sender: f.sender?.trim(), recipient: f.recipient?.trim(), from: utcDay(f.from), to: utcDay(f.to, 1) })}`,
  );
  if (r.status === 401 || r.status === 403 || r.status === 404) await apiGet(apiPath); // redirects to sign-in or not found
  if (r.status >= 400 && r.status !== 400) throw new ApiError(r.status, r.problem);
  const page: Page<DeliveryLogEntry> = r.data ?? { items: [], nextCursor: null };
  const invalid =
    r.status === 400 ? (r.problem?.errors?.map((e) => e.message).join('; ') ?? r.problem?.detail ?? 'Check the filters.') : undefined;
  const params = { result: f.result, sender: f.sender, recipient: f.recipient, from: f.from, to: f.to };
  const filtered = Object.values(params).some(Boolean);
  return (
    <>
      <Card className="mb-6" title="Filters">
        <form action={basePath} className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3">
          <div>
            <label htmlFor="dl-result" className={labelClass}>
              Result
            </label>
            <select id="dl-result" name="result" defaultValue={f.result ?? ''} className={inputClass + ' mt-1'}>
              <option value="">Any</option>
              {RESULTS.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="dl-sender" className={labelClass}>
              Sender contains
            </label>
            <input id="dl-sender" name="sender" defaultValue={f.sender} className={inputClass + ' mt-1'} />
          </div>
          <div>
            <label htmlFor="dl-recipient" className={labelClass}>
              Recipient contains
            </label>
            <input id="dl-recipient" name="recipient" defaultValue={f.recipient} className={inputClass + ' mt-1'} />
          </div>
          <div>
            <label htmlFor="dl-from" className={labelClass}>
              From (UTC day)
            </label>
            <input id="dl-from" name="from" type="date" defaultValue={f.from} className={inputClass + ' mt-1'} />
          </div>
          <div>
            <label htmlFor="dl-to" className={labelClass}>
              To (UTC day, inclusive)
            </label>
            <input id="dl-to" name="to" type="date" defaultValue={f.to} className={inputClass + ' mt-1'} />
          </div>
          <div className="flex items-end gap-2">
            <button type="submit" className={buttonClass('primary')}>
              Apply filters
            </button>
            {filtered && (
              <Link href={basePath} className={buttonClass('ghost')}>
                Clear
              </Link>
            )}
          </div>
        </form>
      </Card>
      <Card title="Deliveries">
        {invalid && (
          <div className="mb-4">
            <Alert>The filters are not valid: {invalid}</Alert>
          </div>
        )}
        {page.items.length === 0 ? (
          <EmptyState title={filtered ? 'No deliveries match these filters' : 'No deliveries logged yet'}>
            {filtered
              ? 'Widen the time range or clear a filter.'
              : 'Every message handed to Mailroom for these addresses appears here: delivered, refused or deferred.'}
          </EmptyState>
        ) : (
          <DeliveryLogTable entries={page.items} caption="Delivery log, newest first" />
        )}
        <Pager basePath={basePath} params={params} cursor={f.cursor} nextCursor={page.nextCursor} />
      </Card>
    </>
  );
}

/** A section on the domain or mailbox page: the latest few entries and the way to the full, searchable log. */
export async function RecentDeliveries({ apiPath, logPath, what }: { apiPath: string; logPath: string; what: string }) {
  const page = await apiGet<Page<DeliveryLogEntry>>(`${apiPath}?limit=5`);
  return (
    <Card
      id="delivery-log"
      title="Delivery log"
      description={`What happened to the latest messages for ${what}: delivered, refused (with the reason the sender got) or deferred.`}
      actions={
        <ButtonLink href={logPath} variant="secondary" size="sm">
          Search the delivery log
        </ButtonLink>
      }
    >
      {page.items.length === 0 ? (
        <EmptyState title="No deliveries logged yet">Messages sent to these addresses appear here.</EmptyState>
      ) : (
        <DeliveryLogTable entries={page.items} caption="Latest deliveries, newest first" />
      )}
    </Card>
  );
}
