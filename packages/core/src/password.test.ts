import { describe, expect, it } from 'vitest';
import { argon2idParamsOf, createPasswordHasher } from './password.ts';

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

describe('bounded argon2 queue', () => {
  it('runs at most maxConcurrent at once, queues up to maxQueue, refuses the rest at once with SERVER_BUSY', async () => {
    const h = createPasswordHasher({ ...fast, maxConcurrent: 1, maxQueue: 2 });
    const hash = await h.hash('pw');
    const burst = await Promise.allSettled(Array.from({ length: 10 }, () => h.verify(hash, 'wrong')));
    const refused = burst.filter((r) => r.status === 'rejected');
    expect(burst.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(refused).toHaveLength(7);
    for (const r of refused)
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'SERVER_BUSY', details: { retryAfterSeconds: 1 } });
    expect(h.stats()).toMatchObject({ verifications: 3, hashes: 1, refused: 7, running: 0, queued: 0 });
    // once the burst is through, the hasher answers again
    expect((await h.verify(hash, 'pw')).ok).toBe(true);
  });

  it('counts dummy verifications too, and they wait in the same queue', async () => {
    const h = createPasswordHasher({ ...fast, maxConcurrent: 1, maxQueue: 0 });
    await h.verifyDummy('warm up the dummy hash');
    const burst = await Promise.allSettled([h.verifyDummy('a'), h.verifyDummy('b')]);
    expect(burst.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(h.stats().verifications).toBe(2);
  });
});

describe('dummy verification after ARGON2_* changed', () => {
  it('reads m, t and p from stored hashes in either field order', () => {
    expect(argon2idParamsOf('$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA')).toEqual({ memoryKib: 65536, timeCost: 3, parallelism: 4 });
    expect(argon2idParamsOf('$argon2id$v=19$m=1024,p=1,t=1$c2FsdA$aGFzaA')).toEqual({ memoryKib: 1024, timeCost: 1, parallelism: 1 });
    expect(argon2idParamsOf('$2b$10$abcdefghijklmnopqrstuv')).toBeUndefined();
    expect(argon2idParamsOf('x')).toBeUndefined();
  });

  it('uses the parameters most stored hashes have, not the new ARGON2_* ones', async () => {
    const oldHashes = await Promise.all(['a', 'b', 'c'].map((p) => createPasswordHasher(fast).hash(p)));
    const current = createPasswordHasher({ memoryKib: 2048, timeCost: 2, parallelism: 1 });
    expect(current.dummyParams()).toEqual({ memoryKib: 2048, timeCost: 2, parallelism: 1 }); // nothing observed yet
    for (const h of oldHashes) current.observeStoredHash(h);
    expect(current.dummyParams()).toEqual(fast);
    // verify() does not move it: an attacker hammering one account cannot pick the dummy's cost
    const newer = await current.hash('d'); // counted: it is about to be stored
    for (let i = 0; i < 5; i++) await current.verify(newer, 'wrong');
    expect(current.dummyParams()).toEqual(fast);
    expect(await current.verifyDummy('x')).toBe(false);
  });
});

describe('hashMany (bulk imports and resets)', () => {
  it('keeps at most `concurrency` hashes in flight: with no waiting line at all it never trips SERVER_BUSY; results keep input order', async () => {
    const hasher = createPasswordHasher({ ...fast, maxConcurrent: 2, maxQueue: 0 });
    const passwords = Array.from({ length: 12 }, (_, i) => `bulk password ${i}`);
    let progress = 0;
    const hashes = await hasher.hashMany(passwords, { onProgress: (n) => (progress = n) });
    expect(progress).toBe(12);
    expect(hasher.stats()).toMatchObject({ hashes: 12, refused: 0 });
    for (const [i, h] of hashes.entries()) expect((await hasher.verify(h, passwords[i]!)).ok).toBe(true);
    // The same queue, flooded directly, does refuse: the bound above is hashMany's doing.
    await expect(Promise.all(passwords.map((p) => hasher.hash(p)))).rejects.toMatchObject({ code: 'SERVER_BUSY' });
  });
});
