import Link from 'next/link';
import { apiGet } from '@/lib/api';
import { formatBytes, formatDateTime } from '@/lib/format';
import type { Page, QuotaWarningMailbox } from '@/lib/types';

/** Dashboard section: mailboxes at or above a quota warning threshold (their users were warned), fullest first. */
export async function QuotaWarnings() {
  const page = await apiGet<Page<QuotaWarningMailbox>>('/quota-warnings?limit=20');
  if (page.items.length === 0) return null;
  return (
    <section
      aria-labelledby="quota-warnings-title"
      className="mb-6 rounded-lg bg-amber-50 px-4 py-3 text-sm text-amber-900 ring-1 ring-amber-600/30 ring-inset"
    >
      <h2 id="quota-warnings-title" className="font-semibold">
        Mailboxes nearly full
      </h2>
      <p className="mt-1">Their users got a warning in their mailbox. Raise the quota, or ask them to delete or download messages.</p>
      <ul className="mt-2 space-y-1">
        {page.items.map((m) => (
          <li key={m.mailboxId}>
            <Link href={`/mailboxes/${m.mailboxId}`} className="font-medium underline">
              {m.address}
            </Link>{' '}
            {m.percentUsed}% full ({formatBytes(m.usedBytes)} of {formatBytes(m.quotaBytes)}), past {m.warnedPercent}%
            {m.warnedAt ? `, warned ${formatDateTime(m.warnedAt)}` : ''}
          </li>
        ))}
      </ul>
      {page.nextCursor && <p className="mt-1 text-xs">Showing the 20 fullest.</p>}
    </section>
  );
}
