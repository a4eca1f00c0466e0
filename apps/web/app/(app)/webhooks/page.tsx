import type { Metadata } from 'next';
import Link from 'next/link';
import { Alert, Badge, Card, EmptyState, PageHeader } from '@/components/ui';
import { apiGet, requireUser } from '@/lib/api';
import { formatDateTime } from '@/lib/format';
import type { Page, WebhookEndpoint, WebhookEventType } from '@/lib/types';
import { CreateWebhookForm } from './webhook-forms';

export const metadata: Metadata = { title: 'Webhooks' };

export default async function WebhooksPage() {
  await requireUser();
  const [endpoints, types] = await Promise.all([
    apiGet<Page<WebhookEndpoint>>('/webhooks?limit=200'),
    apiGet<{ items: WebhookEventType[] }>('/webhooks/event-types'),
  ]);
  const failing = endpoints.items.filter((e) => e.disabledReason === 'failing');
  return (
    <>
      <PageHeader
        title="Webhooks"
        description="Tell your billing or provisioning system what changed, as it happens: signed HTTP POSTs (Standard Webhooks), retried for about a day."
      />
      <div className="space-y-8">
        {failing.length > 0 && (
          <Alert>
            {failing.length === 1 ? 'An endpoint was' : `${failing.length} endpoints were`} disabled after failing for a long time:{' '}
            {failing.map((e) => e.url).join(', ')}. Fix the receiver, then enable it again.
          </Alert>
        )}
        <CreateWebhookForm eventTypes={types.items} />
        <Card id="endpoints" title="Endpoints">
          {endpoints.items.length === 0 ? (
            <EmptyState title="No endpoints yet">
              Register one above. Each request carries webhook-id, webhook-timestamp and webhook-signature headers.
            </EmptyState>
          ) : (
            <ul className="-my-3 divide-y divide-slate-100">
              {endpoints.items.map((e) => (
                <li key={e.id} className="flex flex-wrap items-start justify-between gap-3 py-3">
                  <div className="min-w-0">
                    <p className="font-medium break-all text-slate-900">
                      <Link href={`/webhooks/${e.id}`} className="underline-offset-2 hover:underline">
                        {e.url}
                      </Link>{' '}
                      {e.enabled ? (
                        <Badge tone="green">Enabled</Badge>
                      ) : (
                        <Badge tone={e.disabledReason === 'failing' ? 'red' : 'slate'}>
                          {e.disabledReason === 'failing' ? 'Disabled: failing' : 'Disabled'}
                        </Badge>
                      )}
                    </p>
                    {e.description && <p className="mt-1 text-sm text-slate-700">{e.description}</p>}
                    <p className="mt-1 font-mono text-xs text-slate-600">{e.eventTypes.join(', ')}</p>
                    <p className="mt-1 text-xs text-slate-600">
                      created {formatDateTime(e.createdAt)}
                      {e.consecutiveFailures > 0
                        ? ` · ${e.consecutiveFailures} failed attempts in a row since ${formatDateTime(e.failingSince)}`
                        : ''}
                    </p>
                  </div>
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
    </>
  );
}
