'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { browserSupportsWebAuthn, startRegistration, type PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import { ConfirmButton } from '@/components/confirm-button';
import { Form } from '@/components/form';
import { Alert, buttonClass, describedBy, EmptyState, Field, inputClass } from '@/components/ui';
import { useHydrated } from '@/lib/use-hydrated';
import { fieldErrors, problemMessage, useApi, type ClientProblem } from '@/lib/client';
import { formatDateTime } from '@/lib/format';
import { webauthnMessage } from '@/lib/webauthn';
import type { Passkey } from '@/lib/types';

/** The Account page's passkeys: add (named), list with last use, rename, remove. */
export function PasskeysSection({ initial }: { initial: Passkey[] }) {
  const api = useApi();
  const router = useRouter();
  const hydrated = useHydrated();
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const [error, setError] = useState<string>();
  const [added, setAdded] = useState<string>();
  const errors = fieldErrors(problem);
  const supported = hydrated && browserSupportsWebAuthn();

  async function add(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setProblem(undefined);
    setError(undefined);
    setAdded(undefined);
    const options = await api<PublicKeyCredentialCreationOptionsJSON>('POST', '/me/passkeys/registration-options', {});
    if (!options.ok) {
      setBusy(false);
      return setProblem(options.problem);
    }
    let response;
    try {
      response = await startRegistration({ optionsJSON: options.data });
    } catch (err) {
      setBusy(false);
      return setError(webauthnMessage(err));
    }
    const r = await api<Passkey>('POST', '/me/passkeys', { name: name.trim(), response });
    setBusy(false);
    if (!r.ok) return setProblem(r.problem);
    setAdded(r.data.name);
    setName('');
    router.refresh();
  }

  return (
    <div className="space-y-6">
      {initial.length === 0 ? (
        <EmptyState title="No passkeys yet">Add one to sign in with your fingerprint, face or security key instead of your password.</EmptyState>
      ) : (
        <ul className="divide-y divide-slate-200" aria-label="Your passkeys">
          {initial.map((k) => (
            <PasskeyRow key={k.id} passkey={k} />
          ))}
        </ul>
      )}
      <Form onSubmit={add} className="space-y-3">
        {problem && !errors.name && <Alert>{problemMessage(problem)}</Alert>}
        {error && <Alert>{error}</Alert>}
        {added && <Alert tone="success">Passkey “{added}” added.</Alert>}
        {hydrated && !supported && <Alert tone="info">This browser does not support passkeys.</Alert>}
        <Field id="passkey-name" label="Name of the new passkey" hint="For example “Laptop” or “Phone”." error={errors.name}>
          <input id="passkey-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required className={inputClass} {...describedBy('passkey-name', errors.name, true)} />
        </Field>
        <button type="submit" className={buttonClass('primary')} disabled={busy || !supported || !name.trim()}>
          {busy ? 'Waiting for your passkey…' : 'Add a passkey'}
        </button>
      </Form>
    </div>
  );
}

function PasskeyRow({ passkey }: { passkey: Passkey }) {
  const api = useApi();
  const router = useRouter();
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(passkey.name);
  const [problem, setProblem] = useState<ClientProblem>();
  const inputId = `passkey-${passkey.id}-name`;

  async function rename(e: React.FormEvent) {
    e.preventDefault();
    const r = await api('PATCH', `/me/passkeys/${passkey.id}`, { name: name.trim() });
    if (!r.ok) return setProblem(r.problem);
    setProblem(undefined);
    setEditing(false);
    router.refresh();
  }

  return (
    <li className="flex flex-wrap items-center justify-between gap-3 py-3" data-testid="passkey">
      {editing ? (
        <Form onSubmit={rename} className="flex flex-1 flex-wrap items-end gap-2">
          <Field id={inputId} label="New name" error={problem ? problemMessage(problem) : undefined}>
            <input id={inputId} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required className={inputClass} />
          </Field>
          <button type="submit" className={buttonClass('primary', 'sm')} disabled={!name.trim()}>
            Save
          </button>
          <button type="button" className={buttonClass('secondary', 'sm')} onClick={() => setEditing(false)}>
            Cancel
          </button>
        </Form>
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
          <button type="button" className={buttonClass('secondary', 'sm')} onClick={() => setEditing(true)} aria-label={`Rename ${passkey.name}`}>
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
