import { createPrismaClient } from '@mailroom/db';
import { testDatabaseUrl, uniqueName } from '@mailroom/db/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { accountKey, AuthThrottle, delayForFailures, ipNetworkKey, THROTTLE_FREE_FAILURES, THROTTLE_MAX_DELAY_MS, THROTTLE_WINDOW_MS } from './auth-throttle.ts';

const prisma = createPrismaClient(testDatabaseUrl(), { maxConnections: 2 });
afterAll(() => prisma.$disconnect());
const throttle = new AuthThrottle(prisma, 'test-secret');

describe('ipNetworkKey', () => {
  it('groups IPv4 by /24 and IPv6 by /64', () => {
    expect(ipNetworkKey('203.0.113.77')).toBe('ip:203.0.113.0/24');
    expect(ipNetworkKey('::ffff:203.0.113.9')).toBe('ip:203.0.113.0/24');
    expect(ipNetworkKey('2001:db8:1:2:3:4:5:6')).toBe('ip:2001:db8:1:2::/64');
    expect(ipNetworkKey('2001:db8::1')).toBe('ip:2001:db8::/64');
  });
});

describe('delayForFailures', () => {
  it('is free at first, then grows and is capped', () => {
    expect(delayForFailures(THROTTLE_FREE_FAILURES - 1)).toBe(0);
    expect(delayForFailures(THROTTLE_FREE_FAILURES)).toBe(1000);
    expect(delayForFailures(THROTTLE_FREE_FAILURES + 1)).toBe(2000);
    expect(delayForFailures(100)).toBe(THROTTLE_MAX_DELAY_MS);
  });
});

describe('AuthThrottle', () => {
  it('counts distinct wrong passwords per account and per network', async () => {
    const acct = accountKey(`${uniqueName()}@example.com`);
    const net = `ip:${uniqueName()}`;
    for (let i = 0; i < 5; i++) await throttle.recordFailure([acct, net], `wrong-${i}`);
    const a = await throttle.assess([acct, net]);
    expect(a.failures).toBe(5);
    expect(a.delayMs).toBe(delayForFailures(5));
  });

  it('does not count repeats of the same stale password (a phone retrying must not lock the owner out)', async () => {
    const acct = accountKey(`${uniqueName()}@example.com`);
    for (let i = 0; i < 50; i++) await throttle.recordFailure([acct], 'old-password');
    expect((await throttle.assess([acct])).failures).toBe(1);
    expect((await throttle.assess([acct])).delayMs).toBe(0);
  });

  it('forgets failures after the window and clears the account on success', async () => {
    const acct = accountKey(`${uniqueName()}@example.com`);
    const long = new Date(Date.now() - THROTTLE_WINDOW_MS - 60_000);
    for (let i = 0; i < 6; i++) await throttle.recordFailure([acct], `p${i}`, long);
    expect((await throttle.assess([acct])).failures).toBe(0);
    await throttle.recordFailure([acct], 'fresh');
    expect((await throttle.assess([acct])).failures).toBe(1); // the window restarted
    await throttle.recordFailure([acct], 'fresh2');
    await throttle.recordSuccess(acct);
    expect((await throttle.assess([acct])).failures).toBe(0);
  });

  it('never stores the password itself', async () => {
    const acct = accountKey(`${uniqueName()}@example.com`);
    await throttle.recordFailure([acct], 'Sup3rSecret!');
    const row = await prisma.authThrottle.findUnique({ where: { key: acct } });
    expect(JSON.stringify(row)).not.toContain('Sup3rSecret');
  });
});
