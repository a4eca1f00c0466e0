'use client';
import { ApiForm, clearInputs, SubmitButton } from '@/components/api-form';
import { PasswordField } from '@/components/password-field';
import { TextField } from '@/components/ui';
import { bytesToInput } from '@/lib/format';
import type { Owner } from '@/lib/types';
import { saveOwner } from './actions';

/** After a save, the new password field is emptied (the other fields show what was saved). */
function clearPassword(state: { ok: boolean | null }, form: HTMLFormElement) {
  if (state.ok) clearInputs(form, ['password']);
}

/** Create an owner (no `owner` given) or edit one: email, name, limits, disabled, optional new password. */
export function OwnerForm({ owner }: { owner?: Owner }) {
  return (
    <ApiForm action={saveOwner.bind(null, owner?.id ?? null)} className="space-y-5" onAnswer={clearPassword}>
      {(f) => (
        <>
          <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
            <TextField
              id="owner-email"
              label="Email"
              error={f.errors.email}
              name="email"
              type="email"
              autoComplete="off"
              required
              defaultValue={f.value('email', owner?.email)}
            />
            <TextField
              id="owner-name"
              label="Name"
              optional
              error={f.errors.displayName}
              name="displayName"
              autoComplete="off"
              defaultValue={f.value('displayName', owner?.displayName ?? '')}
            />
          </div>
          <fieldset>
            <legend className="text-sm font-semibold text-slate-900">Limits</legend>
            <p className="text-xs text-slate-600">Leave a limit empty for no limit.</p>
            <div className="mt-3 grid grid-cols-1 gap-4 sm:grid-cols-3">
              <TextField
                id="max-domains"
                label="Domains"
                error={f.errors.maxDomains}
                name="maxDomains"
                inputMode="numeric"
                defaultValue={f.value('maxDomains', owner?.maxDomains?.toString())}
              />
              <TextField
                id="max-mailboxes"
                label="Mailboxes"
                error={f.errors.maxMailboxes}
                name="maxMailboxes"
                inputMode="numeric"
                defaultValue={f.value('maxMailboxes', owner?.maxMailboxes?.toString())}
              />
              <TextField
                id="max-storage"
                label="Storage"
                error={f.errors.maxStorage}
                name="maxStorage"
                placeholder="e.g. 10 GB"
                defaultValue={f.value('maxStorage', bytesToInput(owner?.maxStorageBytes))}
              />
            </div>
          </fieldset>
          <PasswordField
            id="owner-password"
            name="password"
            label={owner ? 'New password (leave empty to keep)' : 'Initial password'}
            error={f.errors.password}
            required={!owner}
          />
          {owner && (
            <label className="flex items-center gap-2 text-sm text-slate-800">
              <input type="checkbox" name="disabled" defaultChecked={owner.disabled} className="h-4 w-4 accent-brand-600" />
              Disabled: the owner cannot sign in and their API keys stop working (mail keeps flowing)
            </label>
          )}
          <SubmitButton pending={f.pending} label={owner ? 'Save owner' : 'Create owner'} pendingLabel="Saving…" />
        </>
      )}
    </ApiForm>
  );
}
