import Link from 'next/link';
import { DashboardNotice } from '@/components/dashboard-notice';
import { apiGet } from '@/lib/api';
import type { Page, WebhookEndpoint } from '@/lib/types';

/** Dashboard notice: the signed-in user's webhook endpoints the worker disabled after sustained delivery failure. */
export async function WebhookFailingNotice({ userId }: { userId: string }) {
  const endpoints = await apiGet<Page<WebhookEndpoint>>(`/webhooks?limit=200&userId=${encodeURIComponent(userId)}`);
  const failing = endpoints.items.filter((e) => e.userId === userId && e.disabledReason === 'failing');
  if (failing.length === 0) return null;
  return (
    <DashboardNotice
      id="webhooks-failing"
      tone="red"
      title={failing.length === 1 ? 'A webhook endpoint was disabled' : `${failing.length} webhook endpoints were disabled`}
    >
      <p className="mt-1">
        Deliveries kept failing, so Mailroom stopped sending events to {failing.map((e) => e.url).join(', ')}.{' '}
        <Link href={failing.length === 1 ? `/webhooks/${failing[0]!.id}` : '/webhooks'} className="font-medium underline">
          Review and enable again
        </Link>
      </p>
    </DashboardNotice>
  );
}
