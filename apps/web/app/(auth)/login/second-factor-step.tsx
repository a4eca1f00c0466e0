'use client';
// Second step of sign-in: a code from the authenticator app, or a recovery code, for the challenge of the password step.
import { useState } from 'react';
import { Form } from '@/components/form';
import { Alert, buttonClass, describedBy, Field, inputClass } from '@/components/ui';
import { callApi, problemMessage, type ClientProblem } from '@/lib/client';
import { PasskeySecondFactor } from './passkey-second-factor';

/** Where the password step leaves the challenge of a forced enrolment for /login/enrol (this tab only). */
export const ENROL_CHALLENGE_KEY = 'mailroom.enrolChallenge';

export function SecondFactorStep({ challenge, methods, onRestart }: { challenge: string; methods: string[]; onRestart: (problem?: ClientProblem) => void }) {
  const [mode, setMode] = useState<'totp' | 'recovery'>(methods.includes('totp') ? 'totp' : 'recovery');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setProblem(undefined);
    const r = await callApi('POST', '/auth/login/second-factor', { challenge, code: code.trim(), method: mode }, null);
    if (r.ok) {
      window.location.assign('/');
      return;
    }
    setBusy(false);
    if (r.problem.code === 'CHALLENGE_INVALID') return onRestart(r.problem);
    setProblem(r.problem);
    setCode('');
  }

  const label = mode === 'totp' ? 'Code from your authenticator app' : 'Recovery code';
  const passkey = methods.includes('passkey');
  const codes = methods.includes('totp') || methods.includes('recovery');
  if (passkey && !codes) return <PasskeySecondFactor challenge={challenge} onRestart={onRestart} alone />;
  return (
    <>
    {passkey && <PasskeySecondFactor challenge={challenge} onRestart={onRestart} alone={false} />}
    <Form onSubmit={submit} className="mt-6 space-y-4" label="Two-factor authentication">
      <p className="text-sm text-slate-700">
        {mode === 'totp' ? 'Enter the 6-digit code your authenticator app shows for Mailroom.' : 'Enter one of the recovery codes you saved. Each works once.'}
      </p>
      {problem && <Alert>{problemMessage(problem)}</Alert>}
      <Field id="second-factor-code" label={label}>
        <input
          id="second-factor-code"
          name="code"
          autoFocus
          autoComplete="one-time-code"
          inputMode={mode === 'totp' ? 'numeric' : 'text'}
          maxLength={mode === 'totp' ? 7 : 20}
          required
          value={code}
          onChange={(e) => setCode(e.target.value)}
          className={inputClass + ' font-mono tracking-widest'}
          {...describedBy('second-factor-code')}
        />
      </Field>
      <button type="submit" className={buttonClass('primary') + ' w-full'} disabled={busy || code.trim().length < 6}>
        {busy ? 'Checking…' : 'Verify'}
      </button>
      <div className="flex flex-wrap justify-between gap-2 text-sm">
        {methods.includes('recovery') && methods.includes('totp') && (
          <button
            type="button"
            className="text-brand-700 hover:underline"
            onClick={() => {
              setMode(mode === 'totp' ? 'recovery' : 'totp');
              setCode('');
              setProblem(undefined);
            }}
          >
            {mode === 'totp' ? 'Use a recovery code' : 'Use the authenticator app'}
          </button>
        )}
        <button type="button" className="text-slate-600 hover:underline" onClick={() => onRestart()}>
          Start over
        </button>
      </div>
    </Form>
    </>
  );
}
