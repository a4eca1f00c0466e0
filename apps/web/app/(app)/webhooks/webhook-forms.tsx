'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ConfirmButton } from '@/components/confirm-button';
import { CopyButton } from '@/components/copy-button';
import { ApiForm, clearInputs, SubmitButton } from '@/components/api-form';
import { Alert, buttonClass, Card, TextField } from '@/components/ui';
import { problemMessage, useApi, type ClientProblem } from '@/lib/client';
import type { CreatedWebhookEndpoint, WebhookEventType } from '@/lib/types';
import { createWebhook } from './actions';

export function CreateWebhookForm({ eventTypes }: { eventTypes: WebhookEventType[] }) {
  const [created, setCreated] = useState<CreatedWebhookEndpoint>();

  return (
    <Card
      id="new-webhook"
      title="Register an endpoint"
      description="Mailroom POSTs a signed JSON event to this URL for each change you select."
    >
      {created && (
        <div className="mb-6 rounded-md bg-green-50 p-4 ring-1 ring-green-600/20 ring-inset" role="status">
          <p className="text-sm font-semibold text-green-900">Endpoint registered. Copy its signing secret now: it is shown only once.</p>
          <div className="mt-2 flex flex-wrap items-center gap-2">
            <code
              className="min-w-0 flex-1 rounded bg-white px-2 py-1.5 font-mono text-sm break-all text-slate-900 ring-1 ring-slate-200"
              data-testid="new-webhook-secret"
            >
              {created.secret}
            </code>
            <CopyButton value={created.secret} label="signing secret" />
          </div>
        </div>
      )}
      <ApiForm<CreatedWebhookEndpoint>
        action={createWebhook}
        className="space-y-5"
        onAnswer={(s, form) => {
          setCreated(s.ok ? s.data : undefined);
          if (s.ok) clearInputs(form, ['url', 'description']);
        }}
      >
        {(f) => (
          <>
            <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
              <TextField
                id="webhook-url"
                label="Endpoint URL"
                hint="https://… of your billing or provisioning system."
                error={f.errors.url}
                name="url"
                type="url"
                required
                defaultValue={f.value('url')}
              />
              <TextField
                id="webhook-description"
                label="Description"
                optional
                error={f.errors.description}
                name="description"
                defaultValue={f.value('description')}
              />
            </div>
            <fieldset>
              <legend className="text-sm font-medium text-slate-800">Events</legend>
              {f.errors.eventTypes && <p className="mt-1 text-xs font-medium text-red-700">{f.errors.eventTypes}</p>}
              <div className="mt-2 grid grid-cols-1 gap-x-6 gap-y-1 sm:grid-cols-3">
                {eventTypes.map((t) => (
                  <label key={t} className="flex items-center gap-2 font-mono text-sm text-slate-800">
                    <input type="checkbox" name="eventTypes" value={t} className="h-4 w-4 accent-brand-600" />
                    {t}
                  </label>
                ))}
              </div>
            </fieldset>
            <SubmitButton pending={f.pending} label="Register endpoint" pendingLabel="Registering…" />
          </>
        )}
      </ApiForm>
    </Card>
  );
}

export function WebhookSwitch({ id, enabled }: { id: string; enabled: boolean }) {
  const api = useApi();
  const router = useRouter();
  const [problem, setProblem] = useState<ClientProblem>();
  return (
    <div className="flex flex-col items-end gap-1">
      <button
        type="button"
        className={buttonClass('secondary', 'sm')}
        onClick={async () => {
          const r = await api('PATCH', `/webhooks/${id}`, { enabled: !enabled });
          if (!r.ok) return setProblem(r.problem);
          router.refresh();
        }}
      >
        {enabled ? 'Disable' : 'Enable'}
      </button>
      {problem && <Alert>{problemMessage(problem)}</Alert>}
    </div>
  );
}

export function DeleteWebhook({ id, url }: { id: string; url: string }) {
  const api = useApi();
  const router = useRouter();
  return (
    <ConfirmButton
      label="Delete"
      title={`Delete the endpoint ${url}?`}
      confirmLabel="Delete endpoint"
      onConfirm={async () => {
        const r = await api('DELETE', `/webhooks/${id}`);
        if (!r.ok) return problemMessage(r.problem);
        router.push('/webhooks');
        return undefined;
      }}
    >
      <p>No further events are sent to it, and its delivery history is deleted.</p>
    </ConfirmButton>
  );
}

export function RedeliverButton({ webhookId, deliveryId }: { webhookId: string; deliveryId: string }) {
  const api = useApi();
  const router = useRouter();
  const [state, setState] = useState<'idle' | 'busy' | 'queued'>('idle');
  const [problem, setProblem] = useState<ClientProblem>();
  return (
    <div className="flex flex-col items-end gap-1">
      <button
        type="button"
        className={buttonClass('secondary', 'sm')}
        disabled={state !== 'idle'}
        onClick={async () => {
          setState('busy');
          const r = await api('POST', `/webhooks/${webhookId}/deliveries/${deliveryId}/redeliver`);
          if (!r.ok) {
            setState('idle');
            return setProblem(r.problem);
          }
          setState('queued');
          router.refresh();
        }}
      >
        {state === 'queued' ? 'Queued' : 'Redeliver'}
      </button>
      {problem && <Alert>{problemMessage(problem)}</Alert>}
    </div>
  );
}
