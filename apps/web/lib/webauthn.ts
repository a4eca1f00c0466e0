/** Why the browser gave up on a passkey ceremony (cancelled, already registered, wrong host …), in words. */
export function webauthnMessage(err: unknown): string {
  const name = err instanceof Error ? err.name : '';
  if (name === 'NotAllowedError') return 'The passkey prompt was cancelled or timed out.';
  if (name === 'InvalidStateError') return 'This device already holds a passkey for your account.';
  if (name === 'SecurityError') return 'Passkeys are not available at this address (the panel is configured for another host name).';
  return 'Your browser could not use a passkey here.';
}
