'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ConfirmButton } from '@/components/confirm-button';
import { ShownOnce } from '@/components/shown-once';
import { createAppPassword } from '@/app/(app)/actions';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { Alert, Card, EmptyState, inputClass, TextField } from '@/components/ui';
import { problemMessage, useApi, type ClientProblem } from '@/lib/client';
import { formatDateTime } from '@/lib/format';
import type { AppPasswordList, CreatedAppPassword } from '@/lib/types';

type Policy = 'inherit' | 'required' | 'allowed';
const toPolicy = (v: boolean | null): Policy => (v === null ? 'inherit' : v ? 'required' : 'allowed');
const fromPolicy = (p: Policy): boolean | null => (p === 'inherit' ? null : p === 'required');

/**
 * POP3 app passwords of one mailbox (mailbox page for owners/admins, the self-service home for the mailbox user): create
 * one per device (shown once), see when and from where each was last used, revoke one, and require them for POP3.
 */
export function AppPasswordsCard({ mailboxId, list }: { mailboxId: string; list: AppPasswordList }) {
  const api = useApi();
  const router = useRouter();
  const [problem, setProblem] = useState<ClientProblem>();
  const [created, setCreated] = useState<CreatedAppPassword>();
  const base = `/mailboxes/${mailboxId}/app-passwords`;
  const domainSays =
    list.domainRequiredForPop3 === true
      ? 'required by the domain'
      : list.domainRequiredForPop3 === false
        ? 'allowed by the domain'
        : 'the server default';

  async function setPolicy(p: Policy) {
    setProblem(undefined);
    const r = await api('PUT', `/mailboxes/${mailboxId}/app-password-policy`, { requiredForPop3: fromPolicy(p) });
    if (!r.ok) return setProblem(r.problem);
    router.refresh();
  }

  return (
    <Card
      id="app-passwords"
      title="App passwords"
      description="One password per mail program or device, for POP3. Revoking one signs out only that device; the others keep working."
    >
      {created && (
        <ShownOnce
          title={`App password “${created.name}” created. Enter it in the device now: it is shown only once.`}
          value={created.password}
          label="app password"
          testId="new-app-password"
        >
          <p className="mt-2 text-xs text-green-900">Dashes and capital letters do not matter when typing it.</p>
        </ShownOnce>
      )}
      {problem && <Alert>{problemMessage(problem)}</Alert>}
      {list.items.length === 0 ? (
        <EmptyState title="No app passwords yet">Your mail programs sign in with the mailbox password until you create one.</EmptyState>
      ) : (
        <ul className="-my-3 mb-4 divide-y divide-slate-100" aria-label="App passwords">
          {list.items.map((p) => (
            <li key={p.id} className="flex flex-wrap items-start justify-between gap-3 py-3">
              <div className="min-w-0">
                <p className="font-medium text-slate-900">
                  {p.name} <span className="ml-1 font-mono text-xs text-slate-600">{p.selector}-…</span>
                </p>
                <p className="mt-1 text-xs text-slate-600">
                  created {formatDateTime(p.createdAt)} · last used {formatDateTime(p.lastUsedAt)}
                  {p.lastUsedIp ? ` from ${p.lastUsedIp}` : ''}
                </p>
              </div>
              <ConfirmButton
                label="Revoke"
                title={`Revoke “${p.name}”?`}
                confirmLabel="Revoke app password"
                onConfirm={async () => {
                  const r = await api('DELETE', `${base}/${p.id}`);
                  if (!r.ok) return problemMessage(r.problem);
                  router.refresh();
                  return undefined;
                }}
              >
                <p>The device using it can no longer sign in (a download already running finishes). Other devices are not affected.</p>
              </ConfirmButton>
            </li>
          ))}
        </ul>
      )}
      <ApiForm<CreatedAppPassword>
        action={createAppPassword.bind(null, mailboxId)}
        className="mt-4 flex flex-wrap items-end gap-3"
        resetOnSuccess
        onAnswer={(s) => setCreated(s.ok ? s.data : undefined)}
      >
        {(f) => (
          <>
            <TextField
              id="app-password-name"
              label="Device name"
              hint="e.g. “phone” or “laptop”."
              error={f.errors.name}
              name="name"
              required
              maxLength={64}
              defaultValue={f.value('name')}
            />
            <SubmitButton pending={f.pending} label="Create app password" pendingLabel="Creating…" />
          </>
        )}
      </ApiForm>
      <div className="mt-6">
        <label htmlFor="app-password-policy" className="block text-sm font-medium text-slate-800">
          Mailbox password for POP3
        </label>
        <select
          id="app-password-policy"
          value={toPolicy(list.requiredForPop3)}
          onChange={(e) => void setPolicy(e.target.value as Policy)}
          className={`${inputClass} mt-1 max-w-md`}
        >
          <option value="inherit">As the domain says ({domainSays})</option>
          <option value="required">Refused: POP3 accepts app passwords only</option>
          <option value="allowed">Accepted, besides app passwords</option>
        </select>
        <p className="mt-1 text-xs text-slate-600">When refused, the mailbox password still signs in to this panel.</p>
      </div>
    </Card>
  );
}
