import { describe, expect, it } from 'vitest';
import { createPasswordHasher } from './password.ts';

const fast = { memoryKib: 1024, timeCost: 1, parallelism: 1 };

describe('password hashing', () => {
  it('hashes with argon2id and the configured parameters, and verifies', async () => {
    const h = createPasswordHasher(fast);
    const hash = await h.hash('correct horse battery staple');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=1024,p=1,t=1\$/);
    expect(await h.verify(hash, 'correct horse battery staple')).toEqual({ ok: true, needsRehash: false });
    expect(await h.verify(hash, 'wrong')).toEqual({ ok: false, needsRehash: false });
  });

  it('flags hashes made with other parameters for re-hashing after a successful login', async () => {
    const old = await createPasswordHasher(fast).hash('pw-123456789');
    const current = createPasswordHasher({ memoryKib: 2048, timeCost: 2, parallelism: 1 });
    expect(await current.verify(old, 'pw-123456789')).toEqual({ ok: true, needsRehash: true });
  });

  it('treats a malformed stored hash as a failed verification, not an exception', async () => {
    expect(await createPasswordHasher(fast).verify('not-a-hash', 'x')).toEqual({ ok: false, needsRehash: false });
  });

  it('never treats the dummy verification as a success', async () => {
    expect(await createPasswordHasher(fast).verifyDummy('mailroom-dummy-password-for-timing')).toBe(false);
  });

  it('verifies hashes from the reference implementation (argon2 CLI / RFC 9106 test suite): whatever binary is built here computes real argon2id', async () => {
    // the install pre-script may compile argon2 for this CPU (scripts/argon2-native.mjs): a miscompiled build fails here
    const h = createPasswordHasher({ memoryKib: 65536, timeCost: 2, parallelism: 1 });
    const reference = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc';
    expect(await h.verify(reference, 'password')).toEqual({ ok: true, needsRehash: false });
    expect((await h.verify(reference, 'Password')).ok).toBe(false);
    const production = '$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$ak6+SwLOxry61DDjDw0uDBBZ1c0o5OpGJ4pHMI/JEhA';
    expect((await h.verify(production, 'correct horse battery staple')).ok).toBe(true);
  });
});
