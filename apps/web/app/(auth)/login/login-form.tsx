'use client';
import { Form } from '@/components/form';
import { useState } from 'react';
import { Alert, buttonClass, describedBy, Field, inputClass } from '@/components/ui';
import { callApi, fieldErrors, problemMessage, type ClientProblem } from '@/lib/client';
import type { LoginResponse } from '@/lib/types';
import { ENROL_CHALLENGE_KEY, SecondFactorStep } from './second-factor-step';

export function LoginForm() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const [pending, setPending] = useState<{ challenge: string; methods: string[] }>();
  const errors = fieldErrors(problem);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setProblem(undefined);
    const r = await callApi<LoginResponse>('POST', '/auth/login', { email: email.trim(), password }, null);
    if (r.ok && 'secondFactorRequired' in r.data) {
      setBusy(false);
      setPassword('');
      setPending({ challenge: r.data.challenge, methods: r.data.methods });
      return;
    }
    if (r.ok && 'enrolmentRequired' in r.data) {
      sessionStorage.setItem(ENROL_CHALLENGE_KEY, r.data.challenge);
      window.location.assign('/login/enrol');
      return;
    }
    if (r.ok) {
      window.location.assign('/');
      return;
    }
    setBusy(false);
    setProblem(r.problem);
  }

  if (pending) {
    return (
      <SecondFactorStep
        challenge={pending.challenge}
        methods={pending.methods}
        onRestart={(p) => {
          setPending(undefined);
          setProblem(p);
        }}
      />
    );
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
