'use client';
import { useState } from 'react';
import { browserSupportsWebAuthn } from '@simplewebauthn/browser';
import { Alert, buttonClass } from '@/components/ui';
import { useHydrated } from '@/lib/use-hydrated';
import { problemMessage, type ClientProblem } from '@/lib/client';
import { authenticateWithPasskey } from '@/lib/webauthn';

/** "Sign in with a passkey": a discoverable credential, no username; the API sets the same session as a password. */
export function PasskeySignIn() {
  const hydrated = useHydrated();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const [error, setError] = useState<string>();
  if (hydrated && !browserSupportsWebAuthn()) return null;

  async function signIn() {
    setBusy(true);
    setProblem(undefined);
    setError(undefined);
    const r = await authenticateWithPasskey('/auth/passkey/options', '/auth/passkey/login', {});
    if (r.ok) {
      window.location.assign('/');
      return;
    }
    setBusy(false);
    if ('error' in r) return setError(r.error);
    setProblem(r.problem);
  }

  return (
    <div className="mt-6 space-y-3 border-t border-slate-200 pt-6">
      {problem && (
        <Alert>
          {problem.code === 'INVALID_CREDENTIALS'
            ? 'That passkey was not accepted. Use another one, or your password.'
            : problemMessage(problem)}
        </Alert>
      )}
      {error && <Alert>{error}</Alert>}
      <button type="button" className={buttonClass('secondary') + ' w-full'} disabled={!hydrated || busy} onClick={signIn}>
        {busy ? 'Waiting for your passkey…' : 'Sign in with a passkey'}
      </button>
    </div>
  );
}
