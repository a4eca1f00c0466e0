'use client';
import { Form } from '@/components/form';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { PasswordField } from '@/components/password-field';
import { Alert, buttonClass, describedBy, Field, inputClass } from '@/components/ui';
import { fieldErrors, problemMessage, useApi, type ClientProblem } from '@/lib/client';
import { bytesToInput, parseByteInput } from '@/lib/format';
import type { Owner } from '@/lib/types';

function parseCount(v: string): number | null | undefined {
  const t = v.trim();
  if (!t) return null;
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

/** Create an owner (no `owner` given) or edit one: email, name, limits, disabled, optional new password. */
export function OwnerForm({ owner }: { owner?: Owner }) {
  const api = useApi();
  const router = useRouter();
  const [email, setEmail] = useState(owner?.email ?? '');
  const [displayName, setDisplayName] = useState(owner?.displayName ?? '');
  const [password, setPassword] = useState('');
  const [maxDomains, setMaxDomains] = useState(owner?.maxDomains?.toString() ?? '');
  const [maxMailboxes, setMaxMailboxes] = useState(owner?.maxMailboxes?.toString() ?? '');
  const [maxStorage, setMaxStorage] = useState(bytesToInput(owner?.maxStorageBytes));
  const [disabled, setDisabled] = useState(owner?.disabled ?? false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const [saved, setSaved] = useState(false);
  const server = fieldErrors(problem);
  const d = parseCount(maxDomains);
  const m = parseCount(maxMailboxes);
  const s = parseByteInput(maxStorage);
  const errors = {
    email: server.email ?? (problem?.code === 'ALREADY_EXISTS' ? 'An account with this email already exists.' : undefined),
    maxDomains: server.maxDomains ?? (d === undefined ? 'A whole number, or empty for no limit.' : undefined),
    maxMailboxes: server.maxMailboxes ?? (m === undefined ? 'A whole number, or empty for no limit.' : undefined),
    maxStorage: server.maxStorageBytes ?? (s === undefined ? 'A size like 10 GB, or empty for no limit.' : undefined),
  };

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    if (d === undefined || m === undefined || s === undefined || !email.trim() || (!owner && !password)) return;
    setBusy(true);
    setProblem(undefined);
    setSaved(false);
    const body = {
      email: email.trim(),
      displayName: displayName.trim() || null,
      maxDomains: d,
      maxMailboxes: m,
      maxStorageBytes: s,
      ...(password ? { password } : {}),
      ...(owner ? { disabled } : {}),
    };
    const r = owner ? await api<Owner>('PATCH', `/owners/${owner.id}`, body) : await api<Owner>('POST', '/owners', body);
    setBusy(false);
    if (!r.ok) return setProblem(r.problem);
    if (!owner) {
      router.push(`/admin/owners/${r.data.id}?created=1`);
      return;
    }
    setSaved(true);
    setPassword('');
    router.refresh();
  }

  return (
    <Form onSubmit={submit} className="space-y-5">
      {problem && problem.code !== 'ALREADY_EXISTS' && Object.keys(server).length === 0 && <Alert>{problemMessage(problem)}</Alert>}
      {saved && <Alert tone="success">Owner saved.</Alert>}
      <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
        <Field id="owner-email" label="Email" error={errors.email}>
          <input id="owner-email" type="email" autoComplete="off" required value={email} onChange={(e) => setEmail(e.target.value)} className={inputClass} {...describedBy('owner-email', errors.email)} />
        </Field>
        <Field id="owner-name" label="Name" optional error={server.displayName}>
          <input id="owner-name" autoComplete="off" value={displayName} onChange={(e) => setDisplayName(e.target.value)} className={inputClass} {...describedBy('owner-name', server.displayName)} />
        </Field>
      </div>
      <fieldset>
        <legend className="text-sm font-semibold text-slate-900">Limits</legend>
        <p className="text-xs text-slate-600">Leave a limit empty for no limit.</p>
        <div className="mt-3 grid grid-cols-1 gap-4 sm:grid-cols-3">
          <Field id="max-domains" label="Domains" error={errors.maxDomains}>
            <input id="max-domains" inputMode="numeric" value={maxDomains} onChange={(e) => setMaxDomains(e.target.value)} className={inputClass} {...describedBy('max-domains', errors.maxDomains)} />
          </Field>
          <Field id="max-mailboxes" label="Mailboxes" error={errors.maxMailboxes}>
            <input id="max-mailboxes" inputMode="numeric" value={maxMailboxes} onChange={(e) => setMaxMailboxes(e.target.value)} className={inputClass} {...describedBy('max-mailboxes', errors.maxMailboxes)} />
          </Field>
          <Field id="max-storage" label="Storage" error={errors.maxStorage}>
            <input id="max-storage" placeholder="e.g. 10 GB" value={maxStorage} onChange={(e) => setMaxStorage(e.target.value)} className={inputClass} {...describedBy('max-storage', errors.maxStorage)} />
          </Field>
        </div>
      </fieldset>
      <PasswordField id="owner-password" name="password" label={owner ? 'New password (leave empty to keep)' : 'Initial password'} value={password} onChange={setPassword} error={server.password} required={!owner} />
      {owner && (
        <label className="flex items-center gap-2 text-sm text-slate-800">
          <input type="checkbox" checked={disabled} onChange={(e) => setDisabled(e.target.checked)} className="h-4 w-4 accent-brand-600" />
          Disabled: the owner cannot sign in and their API keys stop working (mail keeps flowing)
        </label>
      )}
      <button type="submit" className={buttonClass('primary')} disabled={busy}>
        {busy ? 'Saving…' : owner ? 'Save owner' : 'Create owner'}
      </button>
    </Form>
  );
}
