import { startAuthentication, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { callApi, type ClientProblem } from './client';

/**
 * Signs in with a passkey: asks the API at `optionsPath` for a challenge, lets the browser answer it with a passkey and
 * sends the answer to `finishPath` (both with `body`). The API's refusal of either call, or the browser's, in words.
 */
export async function authenticateWithPasskey(
  optionsPath: string,
  finishPath: string,
  body: Record<string, unknown>,
): Promise<{ ok: true } | { ok: false; problem: ClientProblem } | { ok: false; error: string }> {
  const options = await callApi<PublicKeyCredentialRequestOptionsJSON>('POST', optionsPath, body, null);
  if (!options.ok) return { ok: false, problem: options.problem };
  let response;
  try {
    response = await startAuthentication({ optionsJSON: options.data });
  } catch (err) {
    return { ok: false, error: webauthnMessage(err) };
  }
  const r = await callApi('POST', finishPath, { ...body, response }, null);
  return r.ok ? { ok: true } : { ok: false, problem: r.problem };
}

/** Why the browser gave up on a passkey ceremony (cancelled, already registered, wrong host …), in words. */
export function webauthnMessage(err: unknown): string {
  const name = err instanceof Error ? err.name : '';
  if (name === 'NotAllowedError') return 'The passkey prompt was cancelled or timed out.';
  if (name === 'InvalidStateError') return 'This device already holds a passkey for your account.';
  if (name === 'SecurityError') return 'Passkeys are not available at this address (the panel is configured for another host name).';
  return 'Your browser could not use a passkey here.';
}
