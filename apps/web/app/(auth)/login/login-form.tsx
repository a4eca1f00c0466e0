'use client';
import { Form } from '@/components/form';
import { useState } from 'react';
import { Alert, buttonClass, describedBy, Field, inputClass } from '@/components/ui';
import { callApi, fieldErrors, problemMessage, type ClientProblem } from '@/lib/client';

export function LoginForm() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const errors = fieldErrors(problem);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setProblem(undefined);
    const r = await callApi('POST', '/auth/login', { email: email.trim(), password }, null);
    if (r.ok) {
      window.location.assign('/');
      return;
    }
    setBusy(false);
    setProblem(r.problem);
  }

  return (
    <Form onSubmit={submit} className="mt-6 space-y-4">
      {problem && <Alert>{problemMessage(problem)}</Alert>}
      <Field id="email" label="Email or mailbox address" error={errors.email}>
        <input id="email" name="email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} className={inputClass} {...describedBy('email', errors.email)} />
      </Field>
      <Field id="password" label="Password" error={errors.password}>
        <input id="password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} className={inputClass} {...describedBy('password', errors.password)} />
      </Field>
      <button type="submit" className={buttonClass('primary') + ' w-full'} disabled={busy || !email || !password}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </Form>
  );
}
