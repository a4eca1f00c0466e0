'use client';
// Second step of sign-in: a code from the authenticator app, or a recovery code, for the challenge of the password step.
import { useState } from 'react';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { TextField } from '@/components/ui';
import type { ClientProblem } from '@/lib/client';
import { verifySecondFactor } from './actions';
import { PasskeySecondFactor } from './passkey-second-factor';

/** Where the password step leaves the challenge of a forced enrolment for /login/enrol (this tab only). */
export const ENROL_CHALLENGE_KEY = 'mailroom.enrolChallenge';

export function SecondFactorStep({
  challenge,
  methods,
  onRestart,
}: {
  challenge: string;
  methods: string[];
  onRestart: (problem?: ClientProblem) => void;
}) {
  const [mode, setMode] = useState<'totp' | 'recovery'>(methods.includes('totp') ? 'totp' : 'recovery');

  const label = mode === 'totp' ? 'Code from your authenticator app' : 'Recovery code';
  const passkey = methods.includes('passkey');
  const codes = methods.includes('totp') || methods.includes('recovery');
  if (passkey && !codes) return <PasskeySecondFactor challenge={challenge} onRestart={onRestart} alone />;
  return (
    <>
      {passkey && <PasskeySecondFactor challenge={challenge} onRestart={onRestart} alone={false} />}
      <ApiForm
        key={mode}
        action={verifySecondFactor}
        className="mt-6 space-y-4"
        label="Two-factor authentication"
        onAnswer={(s, form) => {
          if (s.code === 'CHALLENGE_INVALID') onRestart({ status: 400, code: s.code, title: s.message ?? '' });
          else if (s.ok === false) form.reset();
        }}
      >
        {(f) => (
          <>
            <p className="text-sm text-slate-700">
              {mode === 'totp'
                ? 'Enter the 6-digit code your authenticator app shows for Mailroom.'
                : 'Enter one of the recovery codes you saved. Each works once.'}
            </p>
            <input type="hidden" name="challenge" value={challenge} />
            <input type="hidden" name="method" value={mode} />
            <TextField
              id="second-factor-code"
              label={label}
              error={f.errors.code}
              name="code"
              autoFocus
              autoComplete="one-time-code"
              inputMode={mode === 'totp' ? 'numeric' : 'text'}
              maxLength={mode === 'totp' ? 7 : 20}
              required
              className="font-mono tracking-widest"
            />
            <SubmitButton pending={f.pending || !!f.state.ok} label="Verify" pendingLabel="Checking…" className="w-full" />
            <div className="flex flex-wrap justify-between gap-2 text-sm">
              {methods.includes('recovery') && methods.includes('totp') && (
                <button
                  type="button"
                  className="text-brand-700 hover:underline"
                  onClick={() => setMode(mode === 'totp' ? 'recovery' : 'totp')}
                >
                  {mode === 'totp' ? 'Use a recovery code' : 'Use the authenticator app'}
                </button>
              )}
              <button type="button" className="text-slate-600 hover:underline" onClick={() => onRestart()}>
                Start over
              </button>
            </div>
          </>
        )}
      </ApiForm>
    </>
  );
}
