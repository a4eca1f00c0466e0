import { Secret } from 'otpauth';
import { describe, expect, test } from 'vitest';
import { openSecret, sealSecret } from '../secret-box.ts';
import { generateTotpCode, matchTotpStep, normalizeRecoveryCode, totpStepAt } from './totp.ts';

/** RFC 6238 Appendix B: the seeds are the ASCII strings "1234567890" repeated to the hash's key length. */
const SEED = {
  SHA1: '12345678901234567890',
  SHA256: '12345678901234567890123456789012',
  SHA512: '1234567890123456789012345678901234567890123456789012345678901234',
} as const;
const VECTORS: [number, string, string, string][] = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

describe('RFC 6238 Appendix B test vectors', () => {
  for (const [t, sha1, sha256, sha512] of VECTORS) {
    test(`T=${t}`, () => {
      const b32 = (seed: string) => Secret.fromLatin1(seed).base32;
      expect(generateTotpCode(b32(SEED.SHA1), t * 1000, { digits: 8, algorithm: 'SHA1' })).toBe(sha1);
      expect(generateTotpCode(b32(SEED.SHA256), t * 1000, { digits: 8, algorithm: 'SHA256' })).toBe(sha256);
      expect(generateTotpCode(b32(SEED.SHA512), t * 1000, { digits: 8, algorithm: 'SHA512' })).toBe(sha512);
    });
  }
  test('the 6-digit code Mailroom uses is the last 6 digits of the 8-digit vector', () => {
    const b32 = Secret.fromLatin1(SEED.SHA1).base32;
    expect(generateTotpCode(b32, 1111111109 * 1000)).toBe('081804');
  });
});

describe('matchTotpStep', () => {
  const secret = new Secret({ size: 20 }).base32;
  const now = 1_800_000_000_000;
  test('accepts the current step and one either side, and names the step matched', () => {
    expect(matchTotpStep(secret, generateTotpCode(secret, now), now)).toBe(totpStepAt(now));
    expect(matchTotpStep(secret, generateTotpCode(secret, now - 30_000), now)).toBe(totpStepAt(now) - 1);
    expect(matchTotpStep(secret, generateTotpCode(secret, now + 30_000), now)).toBe(totpStepAt(now) + 1);
  });
  test('refuses two steps away, other secrets and malformed codes', () => {
    expect(matchTotpStep(secret, generateTotpCode(secret, now - 60_000), now)).toBeUndefined();
    expect(matchTotpStep(secret, generateTotpCode(secret, now + 60_000), now)).toBeUndefined();
    expect(matchTotpStep(new Secret({ size: 20 }).base32, generateTotpCode(secret, now), now)).toBeUndefined();
    for (const bad of ['', '12345', '1234567', 'abcdef', ' 123456', '12345\u0660']) expect(matchTotpStep(secret, bad, now)).toBeUndefined();
  });
});

describe('secret box', () => {
  test('round-trips, differs per seal, and refuses another server secret, purpose or a tampered box', () => {
    const a = sealSecret('server secret', 'totp-secret', 'JBSWY3DPEHPK3PXP');
    expect(a).not.toContain('JBSWY3DPEHPK3PXP');
    expect(sealSecret('server secret', 'totp-secret', 'JBSWY3DPEHPK3PXP')).not.toBe(a);
    expect(openSecret('server secret', 'totp-secret', a)).toBe('JBSWY3DPEHPK3PXP');
    expect(() => openSecret('other secret', 'totp-secret', a)).toThrow();
    expect(() => openSecret('server secret', 'other', a)).toThrow();
    const parts = a.split('.');
    const ct = Buffer.from(parts[2]!, 'base64url');
    ct[0] = ct[0]! ^ 1;
    parts[2] = ct.toString('base64url');
    expect(() => openSecret('server secret', 'totp-secret', parts.join('.'))).toThrow();
  });
});

test('recovery codes are compared without case, spaces or dashes', () => {
  expect(normalizeRecoveryCode(' AbCde-fGhjk ')).toBe('abcdefghjk');
});
