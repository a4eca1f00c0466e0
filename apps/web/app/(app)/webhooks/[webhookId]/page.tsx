import type { Metadata } from 'next';
import { Alert, Badge, Card, EmptyState, PageHeader } from '@/components/ui';
import { apiGet, requireUser } from '@/lib/api';
import { formatDateTime } from '@/lib/format';
import type { Page, WebhookDelivery, WebhookEndpoint } from '@/lib/types';
import { DeleteWebhook, RedeliverButton, WebhookSwitch } from '../webhook-forms';

export const metadata: Metadata = { title: 'Webhook endpoint' };

const STATUS_TONE = { succeeded: 'green', failed: 'red', pending: 'amber' } as const;

export default async function WebhookPage({ params }: { params: Promise<{ webhookId: string }> }) {
  await requireUser();
  const { webhookId } = await params;
  const [endpoint, deliveries] = await Promise.all([
    apiGet<WebhookEndpoint>(`/webhooks/${webhookId}`),
    apiGet<Page<WebhookDelivery>>(`/webhooks/${webhookId}/deliveries?limit=50`),
  ]);
  return (
    <>
      <PageHeader
        title={endpoint.url}
        description={endpoint.description || undefined}
        back={{ href: '/webhooks', label: 'Webhooks' }}
        actions={
          <div className="flex items-start gap-2">
            <WebhookSwitch id={endpoint.id} enabled={endpoint.enabled} />
            <DeleteWebhook id={endpoint.id} url={endpoint.url} />
          </div>
        }
      />
      <div className="space-y-8">
        {endpoint.disabledReason === 'failing' && (
          <Alert>
            Disabled on {formatDateTime(endpoint.disabledAt)} after {endpoint.consecutiveFailures} failed attempts in a row since{' '}
            {formatDateTime(endpoint.failingSince)}. Fix the receiver, enable the endpoint, then redeliver what it missed.
          </Alert>
        )}
        <Card
          id="deliveries"
          title="Deliveries"
          description="Newest first. Each event keeps its webhook-id across retries and redeliveries."
        >
          {deliveries.items.length === 0 ? (
            <EmptyState title="No deliveries yet">Events you subscribed to appear here within seconds of the change.</EmptyState>
          ) : (
            <ul className="-my-3 divide-y divide-slate-100">
              {deliveries.items.map((d) => (
                <li key={d.id} className="py-3" data-testid="webhook-delivery">
                  <div className="flex flex-wrap items-start justify-between gap-3">
                    <div className="min-w-0">
                      <p className="font-medium text-slate-900">
                        <span className="font-mono">{d.eventType}</span> <Badge tone={STATUS_TONE[d.status]}>{d.status}</Badge>
                      </p>
                      <p className="mt-1 font-mono text-xs text-slate-600">webhook-id {d.eventId}</p>
                      <p className="mt-1 text-xs text-slate-600">
                        {d.attemptCount} attempt{d.attemptCount === 1 ? '' : 's'} · last {formatDateTime(d.lastAttemptAt)}
                        {d.redeliverRequestedAt ? ' · redelivery queued' : ''}
                      </p>
                    </div>
                    {endpoint.enabled && <RedeliverButton webhookId={endpoint.id} deliveryId={d.id} />}
                  </div>
                  {d.attempts.length > 0 && (
                    <table className="mt-2 text-xs text-slate-700">
                      <thead>
                        <tr className="text-left text-slate-600">
                          <th scope="col" className="pr-4 font-medium">
                            Attempt
                          </th>
                          <th scope="col" className="pr-4 font-medium">
                            Response
                          </th>
                          <th scope="col" className="pr-4 font-medium">
                            Time
                          </th>
                          <th scope="col" className="font-medium">
                            Detail
                          </th>
                        </tr>
                      </thead>
                      <tbody>
                        {d.attempts.map((a) => (
                          <tr key={a.id}>
                            <td className="pr-4">{formatDateTime(a.startedAt)}</td>
                            <td className="pr-4 font-mono">{a.statusCode ?? '—'}</td>
                            <td className="pr-4">{a.durationMs} ms</td>
                            <td className="max-w-md truncate font-mono" title={a.error ?? a.responseBody ?? ''}>
                              {a.error ?? a.responseBody ?? ''}
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  )}
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
    </>
  );
}
