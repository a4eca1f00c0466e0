import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const KEY_INFO = 'mailroom webhook signing secrets v1';

function keyFrom(serverSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(serverSecret, 'utf8'), Buffer.alloc(0), KEY_INFO, 32));
}

/** A new Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** AES-256-GCM under a key derived (HKDF) from the server secret: `v1.<base64 iv|tag|ciphertext>`. */
export function encryptWebhookSecret(secret: string, serverSecret: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', keyFrom(serverSecret), iv);
  const ct = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
  return `v1.${Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64')}`;
}

/** Reverses {@link encryptWebhookSecret}; throws when the server secret changed or the value was tampered with. */
export function decryptWebhookSecret(stored: string, serverSecret: string): string {
  if (!stored.startsWith('v1.')) throw new Error('unknown webhook secret format');
  const raw = Buffer.from(stored.slice(3), 'base64');
  const d = createDecipheriv('aes-256-gcm', keyFrom(serverSecret), raw.subarray(0, 12));
  d.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
}
