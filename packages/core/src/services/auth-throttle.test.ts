import { createPrismaClient } from '@mailroom/db';
import { testDatabaseUrl, uniqueName } from '@mailroom/db/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  accountKey,
  attemptsAllowedWithin,
  AuthThrottle,
  delayForFailures,
  freeAttemptsFor,
  ipNetworkKey,
  THROTTLE_FREE_FAILURES,
  THROTTLE_MAX_DELAY_MS,
  THROTTLE_NETWORK_FREE_FAILURES,
  THROTTLE_WINDOW_MS,
} from './auth-throttle.ts';

const prisma = createPrismaClient(testDatabaseUrl(), { maxConnections: 8 });
afterAll(() => prisma.$disconnect());
const throttle = new AuthThrottle(prisma, 'test-secret');

const failuresOf = async (key: string) => (await prisma.authThrottle.findUnique({ where: { key } }))?.failures ?? 0;
const uniqueIp = () => `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.9`;

/** One attempt whose "verification" is a plain comparison; `verified` collects the guesses actually checked. */
function attempt(login: string, password: string, opts: { ip?: string; right?: string; verified?: string[]; maxWaitMs?: number } = {}) {
  return throttle.attempt(
    { ip: opts.ip ?? uniqueIp(), login, password, maxWaitMs: opts.maxWaitMs ?? 0, sleep: async () => undefined },
    async () => {
      opts.verified?.push(password);
      return { passwordOk: password === (opts.right ?? 'right password'), value: 'signed in' };
    },
  );
}

describe('ipNetworkKey', () => {
  it('groups IPv4 by /24 and IPv6 by /64', () => {
    expect(ipNetworkKey('203.0.113.77')).toBe('ip:203.0.113.0/24');
    expect(ipNetworkKey('::ffff:203.0.113.9')).toBe('ip:203.0.113.0/24');
    expect(ipNetworkKey('2001:db8:1:2:3:4:5:6')).toBe('ip:2001:db8:1:2::/64');
    expect(ipNetworkKey('2001:db8::1')).toBe('ip:2001:db8::/64');
  });
});

describe('delayForFailures', () => {
  it('gives the allowance of a burst: the free attempts, then one per delay', () => {
    expect(attemptsAllowedWithin(0)).toBe(THROTTLE_FREE_FAILURES);
    expect(attemptsAllowedWithin(999)).toBe(THROTTLE_FREE_FAILURES);
    expect(attemptsAllowedWithin(1000)).toBe(THROTTLE_FREE_FAILURES + 1);
    expect(attemptsAllowedWithin(3000)).toBe(THROTTLE_FREE_FAILURES + 2);
  });

  it('is free at first, then grows and is capped', () => {
    expect(delayForFailures(THROTTLE_FREE_FAILURES - 1)).toBe(0);
    expect(delayForFailures(THROTTLE_FREE_FAILURES)).toBe(1000);
    expect(delayForFailures(THROTTLE_FREE_FAILURES + 1)).toBe(2000);
    expect(delayForFailures(100)).toBe(THROTTLE_MAX_DELAY_MS);
  });

  it('gives a client network more free attempts than an account (a NAT shares one network key)', () => {
    expect(freeAttemptsFor(accountKey('a@example.com'))).toBe(THROTTLE_FREE_FAILURES);
    expect(freeAttemptsFor(ipNetworkKey('203.0.113.7'))).toBe(THROTTLE_NETWORK_FREE_FAILURES);
    expect(THROTTLE_NETWORK_FREE_FAILURES).toBeGreaterThan(THROTTLE_FREE_FAILURES);
    expect(delayForFailures(THROTTLE_FREE_FAILURES, THROTTLE_NETWORK_FREE_FAILURES)).toBe(0);
  });
});

describe('AuthThrottle.attempt', () => {
  it('counts distinct wrong passwords per canonical account, whatever the spelling and network', async () => {
    const account = `${uniqueName()}@example.com`;
    const spellings = [
      account,
      account.toUpperCase(),
      ` ${account}`,
      account.replace('@', ' @'),
      account.replace('example', 'exam\u00ADple'),
    ];
    const verified: string[] = [];
    const results = [];
    const started = Date.now();
    for (const [i, login] of spellings.entries()) results.push((await attempt(login, `wrong-${i}`, { verified })).status);
    const allowance = attemptsAllowedWithin(Date.now() - started);
    // The two exact spellings' guesses are verified; the odd spellings never are, yet they count.
    expect(verified).toEqual(['wrong-0', 'wrong-1']);
    expect(results.slice(0, THROTTLE_FREE_FAILURES)).toEqual(['invalid', 'invalid', 'invalid']);
    expect(results.filter((r) => r === 'invalid').length).toBeLessThanOrEqual(allowance);
    expect(await failuresOf(accountKey(account))).toBe(results.filter((r) => r === 'invalid').length);
  });

  it('a burst of concurrent guesses verifies only the allowance; the rest are refused before any verification', async () => {
    const account = `${uniqueName()}@example.com`;
    const verified: string[] = [];
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => attempt(account, `guess-${i}`, { verified })));
    expect(verified.length).toBeGreaterThanOrEqual(THROTTLE_FREE_FAILURES);
    expect(verified.length).toBeLessThanOrEqual(attemptsAllowedWithin(Date.now() - started));
    expect(results.filter((r) => r.status === 'invalid')).toHaveLength(verified.length);
    const refused = results.filter((r) => r.status === 'throttled');
    expect(refused).toHaveLength(40 - verified.length);
    for (const r of refused) expect(r).toMatchObject({ retryAfterSeconds: expect.any(Number) });
  });

  it('turns within maxWaitMs are waited for, one after the other, instead of refused', async () => {
    const account = `${uniqueName()}@example.com`;
    const waits: number[] = [];
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        throttle.attempt(
          { ip: uniqueIp(), login: account, password: `g${i}`, maxWaitMs: 4_000, sleep: async (ms) => void waits.push(ms) },
          async () => ({ passwordOk: false, value: null }),
        ),
      ),
    );
    // 3 free, then a turn 1 s later, then one 2 s after that (3 s ahead): the next (7 s ahead) is beyond the wait.
    const granted = results.filter((r) => r.status === 'invalid').length;
    expect(granted).toBeGreaterThanOrEqual(THROTTLE_FREE_FAILURES + 2);
    expect(granted).toBeLessThanOrEqual(attemptsAllowedWithin(Date.now() - started + 4_000));
    expect(results.filter((r) => r.status === 'throttled')).toHaveLength(10 - granted);
    expect(Math.max(...waits)).toBeGreaterThanOrEqual(1_000);
    expect(Math.max(...waits)).toBeLessThanOrEqual(4_000);
  });

  it('does not count repeats of the same stale password (a phone retrying must not lock the owner out)', async () => {
    const account = `${uniqueName()}@example.com`;
    const ip = uniqueIp();
    for (let i = 0; i < 20; i++) expect((await attempt(account, 'old-password', { ip })).status).toBe('invalid');
    expect(await failuresOf(accountKey(account))).toBe(1);
    expect(await failuresOf(ipNetworkKey(ip))).toBe(1);
    expect((await attempt(account, 'right password', { ip })).status).toBe('ok');
  });

  it('one password sprayed over many accounts from one network counts once per account (no repeat refund)', async () => {
    const ip = uniqueIp();
    const results = [];
    const started = Date.now();
    for (let i = 0; i < THROTTLE_NETWORK_FREE_FAILURES + 4; i++)
      results.push((await attempt(`${uniqueName()}@example.com`, 'Summer2026!', { ip })).status);
    const tried = results.filter((s) => s === 'invalid').length;
    expect(tried).toBeGreaterThanOrEqual(THROTTLE_NETWORK_FREE_FAILURES);
    expect(tried).toBeLessThanOrEqual(attemptsAllowedWithin(Date.now() - started, THROTTLE_NETWORK_FREE_FAILURES));
    expect(await failuresOf(ipNetworkKey(ip))).toBe(tried);
  });

  it('a right password clears the account and gives the network its attempt back', async () => {
    const account = `${uniqueName()}@example.com`;
    const ip = uniqueIp();
    await attempt(account, 'wrong-1', { ip });
    await attempt(account, 'wrong-2', { ip });
    expect((await attempt(account, 'right password', { ip })).status).toBe('ok');
    expect(await failuresOf(accountKey(account))).toBe(0);
    expect(await failuresOf(ipNetworkKey(ip))).toBe(2);
  });

  it('once its delay has passed, a network with failures lets successful logins through without queueing them', async () => {
    const ip = uniqueIp();
    const past = Date.now() - 20_000;
    await prisma.authThrottle.create({
      data: {
        key: ipNetworkKey(ip),
        failures: 5,
        recentFingerprints: [],
        lastFailureAt: new Date(past),
        blockedUntil: new Date(past + delayForFailures(5)),
      },
    });
    for (let i = 0; i < 5; i++) expect((await attempt(`${uniqueName()}@example.com`, 'right password', { ip })).status).toBe('ok');
    expect(await failuresOf(ipNetworkKey(ip))).toBe(5);
  });

  it('many concurrent successful logins from one network (a NAT, a carrier) never queue or get refused', async () => {
    const ip = uniqueIp();
    const results = await Promise.all(Array.from({ length: 60 }, () => attempt(`${uniqueName()}@example.com`, 'right password', { ip })));
    expect(results.map((r) => r.status)).toEqual(Array(60).fill('ok'));
    expect(await failuresOf(ipNetworkKey(ip))).toBe(0);
  });

  it('an error during verification gives the reservation back', async () => {
    const account = `${uniqueName()}@example.com`;
    const ip = uniqueIp();
    const failing = throttle.attempt({ ip, login: account, password: 'x', maxWaitMs: 0 }, async () => {
      throw new Error('database went away');
    });
    await expect(failing).rejects.toThrow('database went away');
    expect(await failuresOf(accountKey(account))).toBe(0);
    expect(await failuresOf(ipNetworkKey(ip))).toBe(0);
  });

  it('a login naming no account is counted under the network only', async () => {
    const ip = uniqueIp();
    const verified: string[] = [];
    const results = [];
    const started = Date.now();
    for (let i = 0; i < THROTTLE_NETWORK_FREE_FAILURES + 3; i++)
      results.push((await attempt(`nobody-${i}`, `p${i}`, { ip, verified })).status);
    const counted = results.filter((s) => s === 'invalid').length;
    expect(counted).toBeLessThanOrEqual(attemptsAllowedWithin(Date.now() - started, THROTTLE_NETWORK_FREE_FAILURES));
    expect(await failuresOf(ipNetworkKey(ip))).toBe(counted);
    expect(verified).toEqual([]);
  });

  it('forgets attempts after the window', async () => {
    const account = `${uniqueName()}@example.com`;
    const key = accountKey(account);
    const long = new Date(Date.now() - THROTTLE_WINDOW_MS - 60_000);
    await prisma.authThrottle.create({
      data: { key, failures: 9, recentFingerprints: [], lastFailureAt: long, blockedUntil: new Date(long.getTime() + 15_000) },
    });
    expect((await attempt(account, 'fresh')).status).toBe('invalid');
    expect(await failuresOf(key)).toBe(1); // the window restarted
    const stale = accountKey(`${uniqueName()}@example.com`);
    await prisma.authThrottle.create({ data: { key: stale, failures: 2, recentFingerprints: [], lastFailureAt: long } });
    expect(await throttle.prune()).toBeGreaterThan(0);
    expect(await prisma.authThrottle.findUnique({ where: { key: stale } })).toBeNull();
  });

  it('never stores the password itself', async () => {
    const account = `${uniqueName()}@example.com`;
    await attempt(account, 'Sup3rSecret!');
    const row = await prisma.authThrottle.findUnique({ where: { key: accountKey(account) } });
    expect(JSON.stringify(row)).not.toContain('Sup3rSecret');
  });
});
