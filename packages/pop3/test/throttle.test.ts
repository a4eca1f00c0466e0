import { describe, expect, it } from 'vitest';
import { accountKey, attemptsAllowedWithin, createPasswordHasher, THROTTLE_FREE_FAILURES } from '@mailroom/core';
import type { PrismaClient } from '@mailroom/db';
import {
  AUTH_FAILED,
  createMaildrop,
  loginOnce,
  ownNetwork,
  Pop3TestClient,
  TEST_ARGON2,
  testStore,
  useTestServer,
  withServer,
  type TestServer,
} from './helpers.ts';

let prisma: PrismaClient;
let srv: TestServer;
useTestServer((started) => ({ prisma, srv } = started));

const THROTTLED = /^-ERR \[SYS\/TEMP\] Too many failed logins, try again in \d+ seconds\.$/;

async function failures(login: string) {
  return (await prisma.authThrottle.findUnique({ where: { key: accountKey(login) } }))?.failures ?? 0;
}

/** A server whose store has its own hasher, so the argon2 verifications it makes can be counted. */
async function withCountingServer<T>(
  config: Parameters<typeof withServer>[1],
  hasherLimits: { maxConcurrent?: number; maxQueue?: number },
  fn: (srv: TestServer, hasher: ReturnType<typeof createPasswordHasher>) => Promise<T>,
) {
  const hasher = createPasswordHasher({ ...TEST_ARGON2, ...hasherLimits });
  return withServer(prisma, config, (s) => fn(s, hasher), { store: testStore(prisma, { hasher }) });
}

describe('brute-force throttling', () => {
  it('adds a growing delay after repeated distinct wrong passwords, without changing the reply', async () => {
    const md = await createMaildrop(prisma);
    const net = ownNetwork();
    const before = srv.delays.length;
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await loginOnce(srv.port, md.address, `guess-${i}`, net));
    expect(new Set(replies)).toEqual(new Set([AUTH_FAILED]));
    expect(await failures(md.address)).toBe(6);
    // the server waited before verifying, and the wait grew
    const asked = srv.delays.slice(before);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.at(-1)!).toBeGreaterThanOrEqual(2000);
    for (let i = 1; i < asked.length; i++) expect(asked[i]!).toBeGreaterThanOrEqual(asked[i - 1]!);
    // the right password still works (delay, not lockout) and clears the account's count
    expect(await loginOnce(srv.port, md.address, md.password, net)).toBe('+OK Logged in.');
    expect(await failures(md.address)).toBe(0);
  });

  it('POP3_THROTTLE_MAX_SLEEP_MS: a turn further away than that is refused with -ERR [SYS/TEMP] instead of slept', async () => {
    await withServer(prisma, { throttleMaxSleepMs: 1_500 }, async (s) => {
      const md = await createMaildrop(prisma);
      const net = ownNetwork();
      const replies = [];
      const started = Date.now();
      for (let i = 0; i < 6; i++) replies.push(await loginOnce(s.port, md.address, `guess-${i}`, net));
      // three free, the fourth waits its 1 s turn, the fifth's turn (2 s later) lies beyond 1.5 s: refused, not slept
      expect(replies.slice(0, 4)).toEqual([AUTH_FAILED, AUTH_FAILED, AUTH_FAILED, AUTH_FAILED]);
      const answered = replies.filter((r) => r === AUTH_FAILED).length;
      expect(answered).toBeLessThanOrEqual(attemptsAllowedWithin(Date.now() - started + 1_500));
      for (const r of replies.slice(answered)) expect(r).toMatch(THROTTLED);
      expect(s.delays.length).toBeGreaterThan(0);
      expect(Math.max(...s.delays)).toBeLessThanOrEqual(1_500);
      // refused attempts were never counted
      expect(await failures(md.address)).toBe(answered);
    });
  });

  it('does not count repeats of the same stale password (a phone retrying must not lock out the owner)', async () => {
    const md = await createMaildrop(prisma);
    const net = ownNetwork();
    for (let i = 0; i < 8; i++) expect(await loginOnce(srv.port, md.address, 'old-password', net)).toBe(AUTH_FAILED);
    expect(await failures(md.address)).toBe(1);
  });

  it('throttles unknown accounts exactly like known ones', async () => {
    const md = await createMaildrop(prisma);
    const ghost = `ghost@${md.domain}`;
    const net = ownNetwork();
    for (let i = 0; i < 4; i++) expect(await loginOnce(srv.port, ghost, `guess-${i}`, net)).toBe(AUTH_FAILED);
    expect(await failures(ghost)).toBe(4);
  });

  it('odd spellings of one mailbox share its count and are refused without a password check', async () => {
    await withCountingServer({ throttleMaxSleepMs: 0 }, {}, async (s, hasher) => {
      const md = await createMaildrop(prisma);
      const spellings = [
        md.address.replace('@', '@\u00AD'),
        md.address.replace('.', '\u200B.'),
        ` ${md.address}`,
        md.address.replace('@', ' @'),
        `${md.localPart}@ｐ${md.domain.slice(1)}`,
      ];
      const replies = [];
      const started = Date.now();
      // each from another network: only the account's count can stop them
      for (const [i, login] of spellings.entries()) {
        const c = await Pop3TestClient.connect(s.port, { localAddress: ownNetwork() });
        await c.greeting();
        const plain = Buffer.from(`\0${login}\0wrong-${i}`).toString('base64');
        replies.push(await c.cmd(`AUTH PLAIN ${plain}`));
        c.destroy();
      }
      expect(replies.slice(0, THROTTLE_FREE_FAILURES)).toEqual([AUTH_FAILED, AUTH_FAILED, AUTH_FAILED]);
      const answered = replies.filter((r) => r === AUTH_FAILED).length;
      expect(answered).toBeLessThanOrEqual(attemptsAllowedWithin(Date.now() - started));
      for (const r of replies.slice(answered)) expect(r).toMatch(THROTTLED);
      // none of these spellings is ever verified, yet each counts against the mailbox
      expect(hasher.stats().verifications).toBe(0);
      expect(await failures(md.address)).toBe(answered);
    });
  });

  it('40 concurrent wrong logins for one mailbox from 40 networks: at most the allowance is verified, the rest get [SYS/TEMP]', async () => {
    await withCountingServer({ throttleMaxSleepMs: 0 }, {}, async (s, hasher) => {
      const md = await createMaildrop(prisma);
      const started = Date.now();
      const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => loginOnce(s.port, md.address, `burst-${i}`, ownNetwork())));
      const verified = hasher.stats().verifications;
      expect(verified).toBeLessThanOrEqual(attemptsAllowedWithin(Date.now() - started));
      expect(replies.filter((r) => r === AUTH_FAILED)).toHaveLength(verified);
      expect(replies.filter((r) => THROTTLED.test(r))).toHaveLength(40 - verified);
      expect(await failures(md.address)).toBe(verified);
    });
  });

  it('ARGON2_MAX_QUEUE: a login flood beyond the argon2 queue gets -ERR [SYS/TEMP] at once; the server keeps answering', async () => {
    await withCountingServer({ throttleMaxSleepMs: 0 }, { maxConcurrent: 1, maxQueue: 1 }, async (s, hasher) => {
      const mds = await Promise.all(Array.from({ length: 12 }, () => createMaildrop(prisma)));
      // stored hashes that take a while to verify, so the burst really piles up behind the one running verification
      const slow = await createPasswordHasher({ memoryKib: 32768, timeCost: 3, parallelism: 1 }).hash('slow-password');
      await prisma.mailbox.updateMany({ where: { id: { in: mds.map((m) => m.mailboxId) } }, data: { passwordHash: slow } });
      // distinct accounts and networks: the throttle lets every one through, the queue does not
      const replies = await Promise.all(mds.map((md) => loginOnce(s.port, md.address, 'wrong-password', ownNetwork())));
      expect(replies.filter((r) => r === '-ERR [SYS/TEMP] Server busy, try again later.').length).toBeGreaterThan(0);
      expect(hasher.stats().refused).toBeGreaterThan(0);
      for (const r of replies) expect([AUTH_FAILED, '-ERR [SYS/TEMP] Server busy, try again later.']).toContain(r);
      // busy refusals were not counted against the accounts, and the server still logs people in
      for (const md of mds) expect(await failures(md.address)).toBeLessThanOrEqual(1);
      expect(await loginOnce(s.port, mds[0]!.address, 'slow-password', ownNetwork())).toBe('+OK Logged in.');
    });
  });
});
