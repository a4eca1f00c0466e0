'use client';
import { Form } from '@/components/form';
import { useState } from 'react';
import { PasswordField } from '@/components/password-field';
import { Alert, buttonClass, describedBy, Field, inputClass } from '@/components/ui';
import { fieldErrors, problemMessage, useApi, type ClientProblem } from '@/lib/client';

export function ChangePasswordForm({ username }: { username: string }) {
  const api = useApi();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const [done, setDone] = useState(false);
  const server = fieldErrors(problem);
  const currentError = server.currentPassword ?? (problem?.code === 'INVALID_CREDENTIALS' ? 'That is not your current password.' : undefined);
  const confirmError = confirm && confirm !== next ? 'The two new passwords differ.' : undefined;

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    if (!current || !next || confirm !== next) return;
    setBusy(true);
    setProblem(undefined);
    setDone(false);
    const r = await api('PUT', '/me/password', { currentPassword: current, newPassword: next });
    setBusy(false);
    if (!r.ok) return setProblem(r.problem);
    setDone(true);
    setCurrent('');
    setNext('');
    setConfirm('');
  }

  const banner = problem && !currentError && !server.newPassword;
  return (
    <Form onSubmit={submit} className="space-y-4">
      <input type="text" name="username" autoComplete="username" value={username} readOnly hidden />
      {banner && <Alert>{problemMessage(problem)}</Alert>}
      {done && <Alert tone="success">Your password has been changed.</Alert>}
      <Field id="current-password" label="Current password" error={currentError}>
        <input id="current-password" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required className={inputClass} {...describedBy('current-password', currentError)} />
      </Field>
      <PasswordField id="new-password" name="newPassword" label="New password" value={next} onChange={setNext} error={server.newPassword} />
      <Field id="confirm-password" label="Repeat new password" error={confirmError}>
        <input id="confirm-password" type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} required className={inputClass} {...describedBy('confirm-password', confirmError)} />
      </Field>
      <button type="submit" className={buttonClass('primary')} disabled={busy || !current || !next || confirm !== next}>
        {busy ? 'Changing…' : 'Change password'}
      </button>
    </Form>
  );
}
