// Issue 10, items 2 and 3: attacks on the login throttle and on argon2, performed over real HTTP against the API.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { attemptsAllowedWithin, createPasswordHasher, THROTTLE_FREE_FAILURES } from '@mailroom/core';
import { createKey, createTestApp, createUser, STRONG_PASSWORD, TEST_ARGON2, type TestContext, uniqueName } from '../testing.ts';

interface Listening {
  t: TestContext;
  url: string;
}

async function listen(...args: Parameters<typeof createTestApp>): Promise<Listening> {
  const t = await createTestApp(...args);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const address = t.app.server.address();
  return { t, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

let n = 0;
/** A different forwarded client address each time, from a different /24 (the attacker rotates addresses). */
function forgedIp(): string {
  n++;
  return `10.${(n >> 8) & 255}.${n & 255}.${1 + Math.floor(Math.random() * 250)}`;
}

async function postLogin(base: string, email: string, password: string, xff = forgedIp()) {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': xff },
    body: JSON.stringify({ email, password }),
  });
  return { status: res.status, code: ((await res.json()) as { code?: string }).code, retryAfter: res.headers.get('retry-after') };
}

/** 40 spellings of one address that all name the same account (case, blanks, soft hyphens, zero-width and fullwidth forms). */
function spellingsOf(address: string): string[] {
  const [local, domain] = address.split('@') as [string, string];
  const labels = domain.split('.');
  const out = new Set<string>();
  const variants = [
    (l: string, d: string) => `${l}@${d}`,
    (l: string, d: string) => `${l.toUpperCase()}@${d}`,
    (l: string, d: string) => `${l}@${d.toUpperCase()}`,
    (l: string, d: string) => `${l} @${d}`,
    (l: string, d: string) => ` ${l}@${d}`,
    (l: string, d: string) => `${l}@${d}\t`,
    (l: string, d: string) => `${l}@\u00AD${d}`,
    (l: string, d: string) => `${l}@${d.replace('.', '\u00AD.')}`,
    (l: string, d: string) => `${l}@${d.replace('.', '.\u00AD')}`,
    (l: string, d: string) => `${l}@${d.replace('.', '\u200B.')}`,
    (l: string, _d: string) =>
      `${l}@${[...labels[0]!].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join('')}.${labels.slice(1).join('.')}`,
  ];
  for (let i = 0; out.size < 40; i++) {
    const v = variants[i % variants.length]!;
    // mix letter case in the local part so each round gives new spellings
    const l = [...local].map((c, j) => ((i >> j) & 1 ? c.toUpperCase() : c)).join('');
    out.add(v(l, domain));
  }
  return [...out];
}

/**
 * The attack of issue 10 item 2: 40 wrong passwords, each with another spelling of the account and another forwarded
 * address. The account's count sees all of them: after the free attempts only the throttle's schedule lets any through.
 */
async function expectThrottledAcrossSpellings(s: Listening, address: string): Promise<void> {
  const before = s.t.hasher.stats().verifications;
  const results = [];
  const started = Date.now();
  for (const [i, email] of spellingsOf(address).entries()) results.push(await postLogin(s.url, email, `wrong guess ${i}`));
  const allowance = attemptsAllowedWithin(Date.now() - started);
  expect(results.slice(0, THROTTLE_FREE_FAILURES).map((r) => r.code)).toEqual(Array(THROTTLE_FREE_FAILURES).fill('INVALID_CREDENTIALS'));
  const answered = results.filter((r) => r.status === 401);
  expect(answered.length).toBeLessThanOrEqual(allowance);
  for (const r of results.filter((r) => r.status !== 401))
    expect(r).toMatchObject({ status: 429, code: 'THROTTLED', retryAfter: expect.stringMatching(/^[1-9]\d*$/) });
  expect(s.t.hasher.stats().verifications - before).toBeLessThanOrEqual(allowance);
}

describe('item 2: the throttle key is the canonical account, whatever the spelling', () => {
  let s: Listening;
  beforeAll(async () => {
    s = await listen();
  });
  afterAll(async () => s?.t.close());

  test('40 wrong mailbox logins, each spelled differently and from a different X-Forwarded-For: 429 after the free attempts', async () => {
    const owner = await createUser(s.t);
    const domain = await s.t.prisma.domain.create({
      data: { name: `${uniqueName('d')}.example`, ownerId: owner.id, verifiedAt: new Date() },
    });
    await s.t.prisma.mailbox.create({
      data: { domainId: domain.id, localPart: 'alice', passwordHash: await s.t.hasher.hash(STRONG_PASSWORD) },
    });
    await expectThrottledAcrossSpellings(s, `alice@${domain.name}`);
  });

  test('the same for an owner panel login', async () => {
    const owner = await createUser(s.t);
    await expectThrottledAcrossSpellings(s, owner.email);
  });

  test('a login with whitespace, a soft hyphen or a fullwidth letter is refused without any argon2 work, even with the right password', async () => {
    const owner = await createUser(s.t);
    const [local, domain] = owner.email.split('@') as [string, string];
    const before = s.t.hasher.stats().verifications;
    for (const email of [
      `${local} @${domain}`,
      `${local}@\u00AD${domain}`,
      `${local}@${domain.replace('.', '\u200B.')}`,
      `${local}@ｅ${domain.slice(1)}`,
    ]) {
      // each from its own address, one attempt each: nothing here is throttled
      expect(await postLogin(s.url, email, owner.password)).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS' });
    }
    expect(s.t.hasher.stats().verifications).toBe(before);
    // the exact spelling (any case) still signs in
    expect((await postLogin(s.url, owner.email.toUpperCase(), owner.password)).status).toBe(200);
  });
});

describe('item 3: attempts are counted before they are verified; argon2 work is bounded', () => {
  test('40 concurrent wrong logins for one owner over real HTTP: at most the allowance is verified, the rest get 429 THROTTLED + Retry-After', async () => {
    const s = await listen();
    try {
      const owner = await createUser(s.t);
      const before = s.t.hasher.stats().verifications;
      const started = Date.now();
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => postLogin(s.url, owner.email, `concurrent guess ${i}`)));
      const verified = s.t.hasher.stats().verifications - before;
      expect(verified).toBeLessThanOrEqual(attemptsAllowedWithin(Date.now() - started));
      expect(results.filter((r) => r.status === 401)).toHaveLength(verified);
      const refused = results.filter((r) => r.status === 429);
      expect(refused).toHaveLength(40 - verified);
      for (const r of refused) expect(r).toMatchObject({ code: 'THROTTLED', retryAfter: expect.stringMatching(/^[1-9]\d*$/) });
    } finally {
      await s.t.close();
    }
  });

  test('ARGON2_MAX_QUEUE: a login flood beyond the queue gets 429 SERVER_BUSY + Retry-After at once, and other requests still answer', async () => {
    const hasher = createPasswordHasher({ ...TEST_ARGON2, maxConcurrent: 1, maxQueue: 1 });
    const s = await listen({}, { hasher });
    try {
      // stored hashes that take a while to verify, so the flood really piles up behind the one running verification
      const slow = await createPasswordHasher({ memoryKib: 32768, timeCost: 3, parallelism: 1 }).hash(STRONG_PASSWORD);
      const setup = { prisma: s.t.prisma, hasher: createPasswordHasher(TEST_ARGON2) };
      const owners = await Promise.all(Array.from({ length: 12 }, () => createUser(setup)));
      await s.t.prisma.user.updateMany({ where: { id: { in: owners.map((o) => o.id) } }, data: { passwordHash: slow } });
      const key = await createKey(s.t.prisma, owners[0]!.id, ['domains:read']);
      const flood = Promise.all(owners.map((o) => postLogin(s.url, o.email, 'a wrong password')));
      // while the flood runs, requests that need no argon2 are served
      const me = await fetch(`${s.url}/api/v1/me`, { headers: { authorization: `Bearer ${key}` } });
      expect(me.status).toBe(200);
      const results = await flood;
      const busy = results.filter((r) => r.status === 429);
      expect(busy.length).toBeGreaterThan(0);
      for (const r of busy) expect(r).toMatchObject({ code: 'SERVER_BUSY', retryAfter: '1' });
      expect(results.every((r) => r.status === 401 || r.status === 429)).toBe(true);
      expect(hasher.stats().refused).toBe(busy.length);
      // a refused attempt was never verified, so it is not counted against the account
      const counted = await s.t.prisma.authThrottle.findMany({ where: { key: { in: owners.map((o) => `acct:${o.email}`) } } });
      expect(counted.reduce((sum, r) => sum + r.failures, 0)).toBe(results.filter((r) => r.status === 401).length);
      // once the flood is through, the right password signs in
      expect((await postLogin(s.url, owners[1]!.email, STRONG_PASSWORD)).status).toBe(200);
    } finally {
      await s.t.close();
    }
  });
});
