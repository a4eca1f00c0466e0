import Link from 'next/link';
import { DashboardNotice } from '@/components/dashboard-notice';
import { apiGet } from '@/lib/api';
import { formatBytes, formatDateTime } from '@/lib/format';
import type { Page, QuotaWarningMailbox } from '@/lib/types';

/** Dashboard section: mailboxes at or above a quota warning threshold (their users were warned), fullest first. */
export async function QuotaWarnings() {
  const page = await apiGet<Page<QuotaWarningMailbox>>('/quota-warnings?limit=20');
  if (page.items.length === 0) return null;
  return (
    <DashboardNotice id="quota-warnings" tone="amber" title="Mailboxes nearly full">
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
    </DashboardNotice>
  );
}
