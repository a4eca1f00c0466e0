import { DayRangeInputs, FilteredList, FilterInput, FilterSelect, utcDay } from '@/components/filter-fields';
import { BlockSender } from '@/components/block-sender';
import { senderCandidates } from '@/lib/sender-lists';
import { Badge, ButtonLink, Card, EmptyState, ListTable } from '@/components/ui';
import { apiGet, apiGetFiltered } from '@/lib/api';
import { formatBytes, formatDateTime } from '@/lib/format';
import type { DeliveryLogEntry, Page } from '@/lib/types';

/** The delivery log's filters as the panel's query string carries them (dates are UTC days). */
export type DeliveryLogFilters = { result?: string; sender?: string; recipient?: string; from?: string; to?: string; cursor?: string };

const RESULTS = [
  { value: 'delivered', label: 'Delivered' },
  { value: 'refused', label: 'Refused (5xx)' },
  { value: 'deferred', label: 'Deferred (4xx)' },
];

function ResultBadge({ e }: { e: DeliveryLogEntry }) {
  const tone = e.result === 'delivered' ? 'green' : e.result === 'deferred' ? 'amber' : 'red';
  return <Badge tone={tone}>{e.result === 'delivered' ? 'Delivered' : e.result === 'deferred' ? 'Deferred' : 'Refused'}</Badge>;
}

/** Entries, newest first: what happened to each recipient, and why. */
export function DeliveryLogTable({ entries, caption }: { entries: DeliveryLogEntry[]; caption: string }) {
  return (
    <ListTable
      caption={caption}
      columns={[
        'When',
        'Result',
        'From → To',
        'Reply',
        { label: 'Message', className: 'hidden px-4 py-2 lg:table-cell' },
        { label: 'Client', className: 'hidden px-4 py-2 md:table-cell' },
      ]}
    >
      <tbody className="divide-y divide-slate-100 align-top">
        {entries.map((e) => (
          <tr key={e.id}>
            <td className="px-4 py-2 whitespace-nowrap text-slate-700 sm:px-6">{formatDateTime(e.createdAt)}</td>
            <td className="px-4 py-2">
              <ResultBadge e={e} />
            </td>
            <td className="px-4 py-2 break-all text-slate-700">
              <span className="block">{e.envelopeFrom || '<> (bounce)'}</span>
              {e.headerFrom && e.headerFrom.toLowerCase() !== e.envelopeFrom.toLowerCase() && (
                <span className="block text-xs text-slate-600">From: {e.headerFrom}</span>
              )}
              <span className="block text-slate-900">→ {e.recipient}</span>
              {e.domainId && !e.protocol.startsWith('LMTP') && (
                <BlockSender list={{ kind: 'domain', id: e.domainId }} senders={senderCandidates(e.headerFrom, e.envelopeFrom)} />
              )}
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
    </ListTable>
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
  const { answer, page } = await apiGetFiltered<DeliveryLogEntry>(apiPath, {
    limit: 50,
    cursor: f.cursor,
    result: f.result,
    sender: f.sender?.trim(),
    recipient: f.recipient?.trim(),
    from: utcDay(f.from),
    to: utcDay(f.to, 1),
  });
  return (
    <FilteredList
      basePath={basePath}
      fields={
        <>
          <FilterSelect id="dl-result" label="Result" name="result" value={f.result} options={RESULTS} />
          <FilterInput id="dl-sender" label="Sender contains" name="sender" defaultValue={f.sender} />
          <FilterInput id="dl-recipient" label="Recipient contains" name="recipient" defaultValue={f.recipient} />
          <DayRangeInputs idPrefix="dl-" from={f.from} to={f.to} />
        </>
      }
      title="Deliveries"
      answer={answer}
      page={page}
      params={{ result: f.result, sender: f.sender, recipient: f.recipient, from: f.from, to: f.to }}
      cursor={f.cursor}
      empty={{
        noun: 'deliveries',
        title: 'No deliveries logged yet',
        hint: 'Every message handed to Mailroom for these addresses appears here: delivered, refused or deferred.',
      }}
    >
      <DeliveryLogTable entries={page.items} caption="Delivery log, newest first" />
    </FilteredList>
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
