'use client';
// Second step of sign-in with a passkey: options for the pending sign-in's account, then the assertion.
import { useState } from 'react';
import { Alert, buttonClass } from '@/components/ui';
import { problemMessage, type ClientProblem } from '@/lib/client';
import { authenticateWithPasskey } from '@/lib/webauthn';

export function PasskeySecondFactor({
  challenge,
  onRestart,
  alone,
}: {
  challenge: string;
  onRestart: (problem?: ClientProblem) => void;
  alone: boolean;
}) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const [error, setError] = useState<string>();

  async function verify() {
    setBusy(true);
    setProblem(undefined);
    setError(undefined);
    const r = await authenticateWithPasskey('/auth/login/second-factor/passkey/options', '/auth/login/second-factor/passkey', {
      challenge,
    });
    if (r.ok) {
      window.location.assign('/');
      return;
    }
    setBusy(false);
    if ('error' in r) return setError(r.error);
    if (r.problem.code === 'CHALLENGE_INVALID') return onRestart(r.problem);
    setProblem(r.problem);
  }

  return (
    <div className="mt-6 space-y-3">
      <p className="text-sm text-slate-700">Confirm it is you with one of your passkeys.</p>
      {problem && (
        <Alert>
          {problem.code === 'SECOND_FACTOR_INVALID' ? 'That passkey was not accepted. Try another one.' : problemMessage(problem)}
        </Alert>
      )}
      {error && <Alert>{error}</Alert>}
      <button type="button" className={buttonClass(alone ? 'primary' : 'secondary') + ' w-full'} disabled={busy} onClick={verify}>
        {busy ? 'Waiting for your passkey…' : 'Use a passkey'}
      </button>
      {alone && (
        <button type="button" className="text-sm text-slate-600 hover:underline" onClick={() => onRestart()}>
          Start over
        </button>
      )}
    </div>
  );
}
