'use client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ConfirmButton } from '@/components/confirm-button';
import { Alert, Badge, buttonClass, inputClass, ListTable, UsageBar } from '@/components/ui';
import { problemMessage, useApi } from '@/lib/client';
import { downloadCsv, passwordsCsv } from '@/lib/csv-download';
import { formatDateTime, parseByteInput } from '@/lib/format';
import type { BulkMailboxResult, Mailbox } from '@/lib/types';

type Action = 'enable' | 'disable' | 'setQuota' | 'resetPassword' | 'delete';

/**
 * The domain's mailbox list (one cursor page) with a selection: the rows ticked on this page, or every mailbox matching
 * the search (whatever the number of pages), and bulk actions on it. Delete needs the count typed to confirm.
 */
export function MailboxTable({
  domainId,
  domainName,
  items,
  q,
  hasMore,
}: {
  domainId: string;
  domainName: string;
  items: Mailbox[];
  q?: string;
  hasMore: boolean;
}) {
  const api = useApi();
  const router = useRouter();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [allMatching, setAllMatching] = useState(false);
  const [quota, setQuota] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ tone: 'success' | 'error'; text: string }>();
  const allOnPage = items.length > 0 && items.every((m) => selected.has(m.id));
  const count = allMatching ? null : selected.size;
  const what = allMatching
    ? q
      ? `every mailbox matching “${q}”`
      : `every mailbox of ${domainName}`
    : `${selected.size} mailbox${selected.size === 1 ? '' : 'es'}`;

  function toggle(id: string) {
    setAllMatching(false);
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  }

  async function run(action: Action): Promise<string | undefined> {
    const body: Record<string, unknown> = { action, selection: allMatching ? { filter: q ? { q } : {} } : { ids: [...selected] } };
    if (action === 'setQuota') {
      const bytes = parseByteInput(quota);
      if (bytes === undefined) return 'Enter a quota like 2 GB, or leave it empty for unlimited.';
      body.quotaBytes = bytes;
    }
    setBusy(true);
    setMessage(undefined);
    const res = await api<BulkMailboxResult>('POST', `/domains/${domainId}/mailboxes/bulk`, body);
    setBusy(false);
    if (!res.ok) {
      const text = problemMessage(res.problem);
      setMessage({ tone: 'error', text });
      return text;
    }
    const r = res.data;
    if (r.generatedPasswords.length) downloadCsv(`passwords-${domainName}.csv`, passwordsCsv(r.generatedPasswords));
    const verb = {
      enable: 'Enabled',
      disable: 'Disabled',
      setQuota: 'Changed the quota of',
      resetPassword: 'Reset the password of',
      delete: 'Deleted',
    }[action];
    setMessage({
      tone: 'success',
      text: `${verb} ${r.changed} of ${r.matched} selected mailbox${r.matched === 1 ? '' : 'es'}.${r.generatedPasswords.length ? ' The new passwords were downloaded as a CSV file; they are not shown again.' : ''}`,
    });
    setSelected(new Set());
    setAllMatching(false);
    router.refresh();
    return undefined;
  }

  const none = !allMatching && selected.size === 0;
  return (
    <>
      <div
        role="toolbar"
        aria-label="Bulk actions"
        className="mb-3 flex flex-wrap items-center gap-2 rounded-md bg-slate-50 px-3 py-2 text-sm"
      >
        <span className="mr-2 text-slate-700" aria-live="polite">
          {none ? 'Select mailboxes for bulk actions' : `Selected: ${what}`}
        </span>
        <button type="button" className={buttonClass('secondary', 'sm')} disabled={none || busy} onClick={() => run('enable')}>
          Enable
        </button>
        <button type="button" className={buttonClass('secondary', 'sm')} disabled={none || busy} onClick={() => run('disable')}>
          Disable
        </button>
        <label htmlFor="bulk-quota" className="sr-only">
          New quota
        </label>
        <input
          id="bulk-quota"
          value={quota}
          onChange={(e) => setQuota(e.target.value)}
          placeholder="Quota, e.g. 2 GB"
          className={inputClass + ' !mt-0 w-36 py-1'}
        />
        <button type="button" className={buttonClass('secondary', 'sm')} disabled={none || busy} onClick={() => run('setQuota')}>
          Set quota
        </button>
        {!none && (
          <>
            <ConfirmButton
              label="Reset passwords"
              title="Reset passwords?"
              confirmLabel="Reset and download"
              variant="secondary"
              onConfirm={() => run('resetPassword')}
            >
              <p>New passwords are generated for {what} and downloaded once as a CSV file. Their users are signed out.</p>
            </ConfirmButton>
            <ConfirmButton
              label="Delete"
              title="Delete mailboxes?"
              confirmLabel="Delete mailboxes"
              confirmText={count === null ? domainName : String(count)}
              onConfirm={() => run('delete')}
            >
              <p>This deletes {what} with all the mail waiting in them. It cannot be undone.</p>
            </ConfirmButton>
          </>
        )}
      </div>
      {message && <Alert tone={message.tone}>{message.text}</Alert>}
      {allOnPage && hasMore && !allMatching && (
        <p className="mb-2 text-sm text-slate-700">
          All {items.length} mailboxes on this page are selected.{' '}
          <button type="button" className="font-medium text-brand-700 underline" onClick={() => setAllMatching(true)}>
            Select {q ? `every mailbox matching “${q}”` : `all mailboxes of ${domainName}`}
          </button>
        </p>
      )}
      <ListTable
        caption={`Mailboxes of ${domainName}`}
        columns={[
          {
            label: (
              <input
                type="checkbox"
                aria-label="Select all mailboxes on this page"
                checked={allOnPage || allMatching}
                onChange={() => {
                  setAllMatching(false);
                  setSelected(allOnPage ? new Set() : new Set(items.map((m) => m.id)));
                }}
              />
            ),
            className: 'w-8 py-2 pl-4 sm:pl-6',
          },
          'Address',
          { label: 'Display name', className: 'hidden px-4 py-2 md:table-cell' },
          'Usage',
          'Status',
          { label: 'Last login', className: 'hidden px-4 py-2 lg:table-cell' },
        ]}
      >
        <tbody className="divide-y divide-slate-100">
          {items.map((m) => (
            <tr key={m.id}>
              <td className="py-3 pl-4 sm:pl-6">
                <input
                  type="checkbox"
                  aria-label={`Select ${m.address}`}
                  checked={allMatching || selected.has(m.id)}
                  onChange={() => toggle(m.id)}
                />
              </td>
              <td className="px-4 py-3">
                <Link href={`/mailboxes/${m.id}`} className="font-medium break-all text-brand-700 hover:underline">
                  {m.address}
                </Link>
                <div className="text-xs text-slate-600 md:hidden">{m.displayName}</div>
              </td>
              <td className="hidden px-4 py-3 text-slate-700 md:table-cell">
                {m.displayName ?? <span className="text-slate-500">—</span>}
              </td>
              <td className="px-4 py-3">
                <UsageBar used={m.usedBytes} limit={m.quotaBytes} label={`Storage of ${m.address}`} />
              </td>
              <td className="px-4 py-3">{m.enabled ? <Badge tone="green">Enabled</Badge> : <Badge tone="slate">Disabled</Badge>}</td>
              <td className="hidden px-4 py-3 whitespace-nowrap text-slate-700 lg:table-cell">{formatDateTime(m.lastLoginAt)}</td>
            </tr>
          ))}
        </tbody>
      </ListTable>
    </>
  );
}
