'use client';
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useState } from 'react';
import { BlockSender } from '@/components/block-sender';
import { senderCandidates } from '@/lib/sender-lists';
import { ConfirmButton } from '@/components/confirm-button';
import { Alert, buttonClass, Card, EmptyState } from '@/components/ui';
import { problemMessage, useApi, type ClientProblem } from '@/lib/client';
import { formatBytes, formatDateTime } from '@/lib/format';
import type { MessageSummary } from '@mailroom/core/schemas';

const PAGE_SIZE = 50;

function explain(p: ClientProblem): string {
  // MAILBOX_IN_USE: the API's sentence says what to do (wait until the mail client has disconnected).
  return p.code === 'MAILBOX_IN_USE' && p.detail ? p.detail : problemMessage(p);
}

/**
 * "Waiting messages" of a mailbox: what POP3 has not collected yet, newest pages on demand, with delete selected,
 * purge all, .eml download, mbox export, and "Block sender" for each message's From address (the mailbox's own list).
 * For owners/admins on the mailbox page and for the mailbox user at home.
 */
export function WaitingMessages({
  mailboxId,
  address,
  canBlock = true,
}: {
  mailboxId: string;
  address: string;
  /** Block sender on each message (not for a mailbox user whose domain's owner keeps the list). */
  canBlock?: boolean;
}) {
  const api = useApi();
  const router = useRouter();
  const [items, setItems] = useState<MessageSummary[]>([]);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [next, setNext] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [problem, setProblem] = useState<ClientProblem>();
  const [notice, setNotice] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [busy, setBusy] = useState(false);
  const cursor = cursors[cursors.length - 1];
  const base = `/mailboxes/${encodeURIComponent(mailboxId)}`;

  const load = useCallback(async () => {
    setLoading(true);
    const r = await api<{ items: MessageSummary[]; nextCursor: string | null }>(
      'GET',
      `${base}/messages?limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    setLoading(false);
    if (!r.ok) return setProblem(r.problem);
    setItems(r.data.items);
    setNext(r.data.nextCursor);
    setSelected(new Set());
  }, [api, base, cursor]);

  useEffect(() => {
    // eslint-disable-next-line react-hooks/set-state-in-effect -- fetching the page: `load` flags loading before its request
    void load();
  }, [load]);

  function toggle(id: string) {
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  }

  async function removeSelected() {
    setBusy(true);
    setProblem(undefined);
    setNotice(undefined);
    const r = await api<{ deleted: number; bytes: number }>('POST', `${base}/messages/delete`, { ids: [...selected] });
    setBusy(false);
    if (!r.ok) return setProblem(r.problem);
    setNotice(`Deleted ${r.data.deleted} message${r.data.deleted === 1 ? '' : 's'} (${formatBytes(r.data.bytes)}).`);
    await load();
    router.refresh();
  }

  async function purge(): Promise<string | undefined> {
    const r = await api<{ deleted: number; bytes: number }>('DELETE', `${base}/messages`);
    if (!r.ok) return explain(r.problem);
    setNotice(`Deleted all ${r.data.deleted} message${r.data.deleted === 1 ? '' : 's'} (${formatBytes(r.data.bytes)}).`);
    setCursors([undefined]);
    await load();
    router.refresh();
    return undefined;
  }

  const allOnPage = items.length > 0 && items.every((m) => selected.has(m.id));
  return (
    <Card
      id="waiting-messages"
      title="Waiting messages"
      description="Mail delivered here that the POP3 client has not downloaded and deleted yet. Deleting is refused while a mail client is connected."
      actions={
        <div className="flex gap-2">
          <a href={`/api/v1${base}/mbox`} download className={buttonClass('secondary', 'sm')} data-testid="mbox-export">
            Export mbox
          </a>
          {items.length > 0 && (
            <ConfirmButton
              label="Delete all"
              title={`Delete every message of ${address}?`}
              confirmLabel="Delete all messages"
              confirmText="delete"
              onConfirm={purge}
            >
              <p>Every waiting message is deleted for good; the mail client will not receive them. Export an mbox first to keep a copy.</p>
            </ConfirmButton>
          )}
        </div>
      }
    >
      <div className="space-y-4">
        {problem && <Alert>{explain(problem)}</Alert>}
        {notice && <Alert tone="success">{notice}</Alert>}
        {!loading && items.length === 0 && !cursor ? (
          <EmptyState title="No messages waiting">The mail client has collected everything delivered here.</EmptyState>
        ) : (
          <>
            <div className="overflow-x-auto">
              <table className="min-w-full text-left text-sm" aria-busy={loading}>
                <caption className="sr-only">Messages waiting in {address}</caption>
                <thead className="text-xs text-slate-600">
                  <tr>
                    <th scope="col" className="w-8 py-2">
                      <input
                        type="checkbox"
                        aria-label="Select all messages on this page"
                        checked={allOnPage}
                        onChange={() => setSelected(allOnPage ? new Set() : new Set(items.map((m) => m.id)))}
                        className="h-4 w-4 accent-brand-600"
                      />
                    </th>
                    <th scope="col" className="py-2 pr-3">
                      From
                    </th>
                    <th scope="col" className="py-2 pr-3">
                      Subject
                    </th>
                    <th scope="col" className="py-2 pr-3">
                      Date
                    </th>
                    <th scope="col" className="py-2 pr-3 text-right">
                      Size
                    </th>
                    <th scope="col" className="py-2 pr-3">
                      Received
                    </th>
                    <th scope="col" className="py-2">
                      <span className="sr-only">Download</span>
                    </th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {items.map((m) => (
                    <tr key={m.id} data-testid="waiting-message">
                      <td className="py-2">
                        <input
                          type="checkbox"
                          aria-label={`Select message ${m.subject ?? '(no subject)'} (UID ${m.uid})`}
                          checked={selected.has(m.id)}
                          onChange={() => toggle(m.id)}
                          className="h-4 w-4 accent-brand-600"
                        />
                      </td>
                      <td className="max-w-48 py-2 pr-3">
                        <span className="block truncate" title={m.from ?? undefined}>
                          {m.from ?? <span className="text-slate-500">(no sender)</span>}
                        </span>
                        {canBlock && (
                          <BlockSender
                            list={{ kind: 'mailbox', id: mailboxId }}
                            senders={senderCandidates(m.fromAddress, m.envelopeFrom)}
                            onBlocked={() => router.refresh()}
                          />
                        )}
                      </td>
                      <td className="max-w-72 truncate py-2 pr-3" title={m.subject ?? undefined}>
                        {m.subject ?? <span className="text-slate-500">(no subject)</span>}
                      </td>
                      <td className="py-2 pr-3 whitespace-nowrap">
                        {m.date ? formatDateTime(m.date) : <span className="text-slate-500">—</span>}
                      </td>
                      <td className="py-2 pr-3 text-right whitespace-nowrap">{formatBytes(m.sizeOctets)}</td>
                      <td className="py-2 pr-3 whitespace-nowrap">{formatDateTime(m.receivedAt)}</td>
                      <td className="py-2">
                        <a href={`/api/v1${base}/messages/${m.id}/eml`} download className="text-brand-700 underline">
                          .eml
                        </a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="flex flex-wrap items-center justify-between gap-2">
              <button type="button" className={buttonClass('danger', 'sm')} disabled={busy || selected.size === 0} onClick={removeSelected}>
                {busy ? 'Deleting…' : `Delete selected${selected.size ? ` (${selected.size})` : ''}`}
              </button>
              <div className="flex gap-2">
                <button
                  type="button"
                  className={buttonClass('secondary', 'sm')}
                  disabled={cursors.length <= 1 || loading}
                  onClick={() => setCursors((c) => c.slice(0, -1))}
                >
                  Previous
                </button>
                <button
                  type="button"
                  className={buttonClass('secondary', 'sm')}
                  disabled={!next || loading}
                  onClick={() => next && setCursors((c) => [...c, next])}
                >
                  Next
                </button>
              </div>
            </div>
          </>
        )}
      </div>
    </Card>
  );
}
