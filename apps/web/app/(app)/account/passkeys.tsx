'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { browserSupportsWebAuthn, startRegistration, type PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import { ConfirmButton } from '@/components/confirm-button';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { Alert, buttonClass, EmptyState, TextField } from '@/components/ui';
import { useHydrated } from '@/lib/use-hydrated';
import { problemMessage, useApi } from '@/lib/client';
import { field, invalidForm, refusedState, type FormState } from '@/lib/forms';
import { formatDateTime } from '@/lib/format';
import { webauthnMessage } from '@/lib/webauthn';
import type { Passkey } from '@/lib/types';
import { renamePasskey } from './actions';

/** The Account page's passkeys: add (named), list with last use, rename, remove. */
export function PasskeysSection({ initial }: { initial: Passkey[] }) {
  const api = useApi();
  const router = useRouter();
  const hydrated = useHydrated();
  const supported = hydrated && browserSupportsWebAuthn();

  /** Runs in the browser (the authenticator is the browser's): options, the ceremony, then the named credential. */
  async function add(prev: FormState, fd: FormData): Promise<FormState> {
    const name = field(fd, 'name');
    if (!name) return invalidForm(prev, fd, { name: 'Enter a name.' });
    const options = await api<PublicKeyCredentialCreationOptionsJSON>('POST', '/me/passkeys/registration-options', {});
    if (!options.ok) return refusedState(prev, fd, options.problem);
    let response;
    try {
      response = await startRegistration({ optionsJSON: options.data });
    } catch (err) {
      return { seq: prev.seq + 1, ok: false, message: webauthnMessage(err), fields: {} };
    }
    const r = await api<Passkey>('POST', '/me/passkeys', { name, response });
    if (!r.ok) return refusedState(prev, fd, r.problem);
    router.refresh();
    return { seq: prev.seq + 1, ok: true, message: `Passkey “${r.data.name}” added.`, fields: {} };
  }

  return (
    <div className="space-y-6">
      {initial.length === 0 ? (
        <EmptyState title="No passkeys yet">
          Add one to sign in with your fingerprint, face or security key instead of your password.
        </EmptyState>
      ) : (
        <ul className="divide-y divide-slate-200" aria-label="Your passkeys">
          {initial.map((k) => (
            <PasskeyRow key={k.id} passkey={k} />
          ))}
        </ul>
      )}
      {hydrated && !supported && <Alert tone="info">This browser does not support passkeys.</Alert>}
      <ApiForm action={add} className="space-y-3" resetOnSuccess needsScript>
        {(f) => (
          <>
            <TextField
              id="passkey-name"
              label="Name of the new passkey"
              hint="For example “Laptop” or “Phone”."
              error={f.errors.name}
              name="name"
              maxLength={100}
              required
            />
            <SubmitButton pending={f.pending} disabled={!supported} label="Add a passkey" pendingLabel="Waiting for your passkey…" />
          </>
        )}
      </ApiForm>
    </div>
  );
}

function PasskeyRow({ passkey }: { passkey: Passkey }) {
  const api = useApi();
  const router = useRouter();
  const [editing, setEditing] = useState(false);
  const inputId = `passkey-${passkey.id}-name`;

  return (
    <li className="flex flex-wrap items-center justify-between gap-3 py-3" data-testid="passkey">
      {editing ? (
        <ApiForm
          action={renamePasskey.bind(null, passkey.id)}
          className="flex flex-1 flex-wrap items-end gap-2"
          onAnswer={(st) => st.ok && setEditing(false)}
        >
          {(f) => (
            <>
              <TextField
                id={inputId}
                label="New name"
                error={f.errors.name}
                name="name"
                defaultValue={f.value('name', passkey.name)}
                maxLength={100}
                required
              />
              <SubmitButton pending={f.pending} label="Save" pendingLabel="Saving…" size="sm" />
              <button type="button" className={buttonClass('secondary', 'sm')} onClick={() => setEditing(false)}>
                Cancel
              </button>
            </>
          )}
        </ApiForm>
      ) : (
        <div className="min-w-0">
          <p className="font-medium break-all text-slate-900">{passkey.name}</p>
          <p className="text-sm text-slate-600">
            Added {formatDateTime(passkey.createdAt)} · Last used {passkey.lastUsedAt ? formatDateTime(passkey.lastUsedAt) : 'never'}
            {passkey.backedUp ? ' · synced' : ''}
          </p>
        </div>
      )}
      {!editing && (
        <div className="flex gap-2">
          <button
            type="button"
            className={buttonClass('secondary', 'sm')}
            onClick={() => setEditing(true)}
            aria-label={`Rename ${passkey.name}`}
          >
            Rename
          </button>
          <ConfirmButton
            label="Remove"
            title={`Remove the passkey “${passkey.name}”?`}
            confirmLabel="Remove passkey"
            onConfirm={async () => {
              const r = await api('DELETE', `/me/passkeys/${passkey.id}`);
              if (!r.ok) return problemMessage(r.problem);
              router.refresh();
              return undefined;
            }}
          >
            <p>You can no longer sign in with it. Remove it from the device too.</p>
          </ConfirmButton>
        </div>
      )}
    </li>
  );
}
