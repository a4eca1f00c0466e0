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

/** Who requires app passwords when the mailbox user cannot turn them off (the API decides that; this only names who). */
function enforcedBy(list: AppPasswordList): string {
  if (list.requiredForPop3 === true) return 'your mailbox’s owner';
  if (list.domainRequiredForPop3 === true) return 'your domain';
  return 'the server’s settings';
}

/**
 * POP3 app passwords of one mailbox (mailbox page for owners/admins, the self-service home for the mailbox user): create
 * one per device (shown once), see when and from where each was last used, revoke one, and require them for POP3.
 * `viewer` is who is looking: an owner or admin (`user`) sets the mailbox's setting (required, allowed, or as the
 * domain says); the mailbox user (`mailbox`) can only add their own requirement, never lift the owner's, the domain's
 * or the server's.
 */
export function AppPasswordsCard({ mailboxId, list, viewer }: { mailboxId: string; list: AppPasswordList; viewer: 'user' | 'mailbox' }) {
  const api = useApi();
  const router = useRouter();
  const [problem, setProblem] = useState<ClientProblem>();
  const [created, setCreated] = useState<CreatedAppPassword>();
  // The policy as this card's last change left it (the API's answer, or the expected one while it is on its way), so a
  // control does not jump back to the old value until the page has refreshed; the app passwords always come from `list`.
  const [changed, setChanged] = useState<AppPasswordList>();
  const [listSeen, setListSeen] = useState(list);
  if (listSeen !== list) {
    // A refreshed page brings the server's current policy, ours included: it takes over again.
    setListSeen(list);
    setChanged(undefined);
  }
  const policy = changed ?? list;
  const base = `/mailboxes/${mailboxId}/app-passwords`;
  const domainSays =
    policy.domainRequiredForPop3 === true
      ? 'required by the domain'
      : policy.domainRequiredForPop3 === false
        ? 'allowed by the domain'
        : `the server default: ${policy.operatorRequiredForPop3 ? 'refused' : 'accepted'}`;

  async function putPolicy(requiredForPop3: boolean | null, expected: Partial<AppPasswordList>) {
    const before = changed;
    setProblem(undefined);
    setChanged({ ...policy, ...expected });
    const r = await api<AppPasswordList>('PUT', `/mailboxes/${mailboxId}/app-password-policy`, { requiredForPop3 });
    if (!r.ok) {
      setChanged(before);
      return setProblem(r.problem);
    }
    setChanged(r.data);
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
        <EmptyState title="No app passwords yet">
          {policy.effectiveRequiredForPop3
            ? 'POP3 accepts app passwords only for this mailbox: create one for each mail program.'
            : 'Your mail programs sign in with the mailbox password until you create one.'}
        </EmptyState>
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
      {viewer === 'mailbox' ? (
        <div className="mt-6 flex items-start gap-3">
          <input
            id="app-password-self"
            type="checkbox"
            checked={policy.effectiveRequiredForPop3}
            disabled={policy.enforcedForPop3}
            onChange={(e) =>
              void putPolicy(e.target.checked, { userRequiredForPop3: e.target.checked, effectiveRequiredForPop3: e.target.checked })
            }
            className="mt-0.5 h-4 w-4 accent-brand-600"
            aria-describedby="app-password-self-hint"
          />
          <div>
            <label htmlFor="app-password-self" className="text-sm font-medium text-slate-800">
              Require app passwords for POP3 on my mailbox
            </label>
            <p id="app-password-self-hint" className="text-xs text-slate-600">
              {policy.enforcedForPop3
                ? `Required by ${enforcedBy(policy)}: your mail programs must sign in with app passwords, and you cannot turn this off.`
                : policy.userRequiredForPop3
                  ? 'On: your mail programs must sign in with app passwords, so your mailbox password alone cannot fetch your mail.'
                  : 'Off: your mail programs may also sign in with your mailbox password.'}{' '}
              Your mailbox password always signs in to this panel.
            </p>
          </div>
        </div>
      ) : (
        <div className="mt-6">
          <label htmlFor="app-password-policy" className="block text-sm font-medium text-slate-800">
            Mailbox password for POP3
          </label>
          <select
            id="app-password-policy"
            value={toPolicy(policy.requiredForPop3)}
            onChange={(e) =>
              void putPolicy(fromPolicy(e.target.value as Policy), { requiredForPop3: fromPolicy(e.target.value as Policy) })
            }
            className={`${inputClass} mt-1 max-w-md`}
            aria-describedby="app-password-policy-hint"
          >
            <option value="inherit">As the domain says ({domainSays})</option>
            <option value="required">Refused: POP3 accepts app passwords only</option>
            <option value="allowed">Accepted, besides app passwords</option>
          </select>
          <p id="app-password-policy-hint" className="mt-1 text-xs text-slate-600">
            When refused, the mailbox password still signs in to this panel.{' '}
            {policy.userRequiredForPop3
              ? 'The mailbox user has required app passwords for their own mailbox: POP3 refuses the mailbox password whatever is chosen here.'
              : `The mailbox user has not required app passwords themselves. Now POP3 ${
                  policy.effectiveRequiredForPop3 ? 'accepts app passwords only' : 'accepts the mailbox password and app passwords'
                }.`}
          </p>
        </div>
      )}
    </Card>
  );
}
