import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateTotpCode, totpStepAt } from '@mailroom/core';
import { call, createTestApp, createUser, STRONG_PASSWORD, type Session, type TestContext, type TestUser, uniqueName } from '../testing.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const UA = 'vitest-2fa';
let ipCounter = 0;
function uniqueIp(): string {
  ipCounter++;
  return `10.${60 + (ipCounter % 100)}.${Math.floor(Math.random() * 250) + 1}.9`;
}

async function passwordStep(app: TestContext['app'], email: string, password: string, ip: string) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email, password },
    remoteAddress: ip,
    headers: { 'user-agent': UA },
  });
}

async function secondStep(app: TestContext['app'], challenge: string, code: string, ip: string, extra: Record<string, unknown> = {}) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/auth/login/second-factor',
    payload: { challenge, code, ...extra },
    remoteAddress: ip,
    headers: { 'user-agent': UA },
  });
}

function sessionOf(res: { cookies: { name: string; value: string }[]; json(): { csrfToken: string } }): Session {
  const c = res.cookies.find((x) => x.name === 'mailroom_session');
  if (!c) throw new Error('no session cookie');
  return { cookie: `mailroom_session=${c.value}`, csrf: res.json().csrfToken };
}

async function signIn(email: string, password: string, ip = uniqueIp()): Promise<Session> {
  const res = await passwordStep(t.app, email, password, ip);
  expect(res.statusCode, res.body).toBe(200);
  return sessionOf(res);
}

/** Enrols TOTP from a signed-in session through the API; returns the secret and the recovery codes. */
async function enrol(s: Session): Promise<{ secret: string; recoveryCodes: string[] }> {
  const started = await call(t.app, s, 'POST', '/api/v1/me/2fa/totp');
  expect(started.statusCode, started.body).toBe(200);
  const { secret, otpauthUri, qrCodeDataUrl } = started.json();
  expect(otpauthUri).toMatch(/^otpauth:\/\/totp\/.*secret=/);
  expect(qrCodeDataUrl).toMatch(/^data:image\/svg\+xml;base64,/);
  const confirmed = await call(t.app, s, 'POST', '/api/v1/me/2fa/totp/confirm', { code: generateTotpCode(secret, Date.now()) });
  expect(confirmed.statusCode, confirmed.body).toBe(200);
  return { secret, recoveryCodes: confirmed.json().recoveryCodes };
}

/** Test setup only: forget the last used step so the next sign-in can use the current code (replay is tested apart). */
async function forgetLastStep(where: { userId: string } | { mailboxId: string }) {
  await t.prisma.totpFactor.updateMany({ where, data: { lastUsedStep: null } });
}

async function enrolledUser(role: 'ADMIN' | 'OWNER' = 'OWNER'): Promise<TestUser & { secret: string; recoveryCodes: string[] }> {
  const u = await createUser(t, { role });
  const e = await enrol(await signIn(u.email, u.password));
  await forgetLastStep({ userId: u.id });
  return { ...u, ...e };
}

describe('TOTP enrolment and two-step sign-in', () => {
  test('enrol, confirm, then sign-in answers a challenge and completes with a code like a normal login', async () => {
    const u = await enrolledUser();
    expect(u.recoveryCodes).toHaveLength(10);
    const stored = await t.prisma.totpFactor.findUniqueOrThrow({ where: { userId: u.id } });
    expect(stored.secretEnc).not.toContain(u.secret);
    const ip = uniqueIp();
    const first = await passwordStep(t.app, u.email, u.password, ip);
    expect(first.statusCode).toBe(200);
    expect(first.cookies.find((c) => c.name === 'mailroom_session')).toBeUndefined();
    const body = first.json();
    expect(body).toMatchObject({ secondFactorRequired: true, methods: ['totp', 'recovery'] });
    expect(body.challenge).toEqual(expect.any(String));
    const second = await secondStep(t.app, body.challenge, generateTotpCode(u.secret, Date.now()), ip);
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json()).toMatchObject({ kind: 'user', authMethod: 'session', user: { id: u.id } });
    // the user's sign-in log: each step (the enrolment's own password sign-in first)
    const log = await t.prisma.userSignIn.findMany({ where: { userId: u.id }, orderBy: { id: 'asc' } });
    expect(log.map((r) => [r.result, r.mechanism, r.clientAddress, r.userAgent])).toEqual([
      ['ok', 'password', expect.any(String), UA],
      ['second_factor', 'password', ip, UA],
      ['ok', 'totp', ip, UA],
    ]);
    const me = await call(t.app, sessionOf(second), 'GET', '/api/v1/me');
    expect(me.statusCode).toBe(200);
    const audit = await t.prisma.auditEvent.findMany({ where: { targetId: u.id }, orderBy: { createdAt: 'asc' } });
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['user.2fa.enable', 'auth.login']));
    expect(audit.at(-1)).toMatchObject({ action: 'auth.login', details: { method: 'totp' } });
    const status = await call(t.app, sessionOf(second), 'GET', '/api/v1/me/2fa');
    expect(status.json()).toMatchObject({ totp: { enabled: true }, recoveryCodesRemaining: 10, required: false });
  });

  test('a mailbox user enrols and signs in to self-service with a code too', async () => {
    const owner = await createUser(t);
    const domain = await t.prisma.domain.create({
      data: { name: `${uniqueName('tf')}.example`, ownerId: owner.id, verifiedAt: new Date() },
    });
    const m = await t.prisma.mailbox.create({
      data: { domainId: domain.id, localPart: 'me', passwordHash: await t.hasher.hash(STRONG_PASSWORD) },
    });
    const address = `me@${domain.name}`;
    const { secret } = await enrol(await signIn(address, STRONG_PASSWORD));
    await forgetLastStep({ mailboxId: m.id });
    const ip = uniqueIp();
    const first = await passwordStep(t.app, address, STRONG_PASSWORD, ip);
    expect(first.json()).toMatchObject({ secondFactorRequired: true });
    const second = await secondStep(t.app, first.json().challenge, generateTotpCode(secret, Date.now()), ip);
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json()).toMatchObject({ kind: 'mailbox', mailbox: { id: m.id } });
    // the mailbox's sign-in log: the password step asked for the second factor, the code completed it (the enrolment's
    // own sign-in before them)
    const log = await t.prisma.mailboxSignIn.findMany({ where: { mailboxId: m.id }, orderBy: { id: 'desc' }, take: 2 });
    expect(log).toMatchObject([
      { service: 'panel', result: 'ok', clientAddress: ip, mechanism: 'totp', tls: null, userAgent: UA },
      { service: 'panel', result: 'second_factor', clientAddress: ip, mechanism: 'password', tls: null, userAgent: UA },
    ]);
    // a wrong code after the right password: the mailbox's owner and user see someone knows the password
    const third = await passwordStep(t.app, address, STRONG_PASSWORD, ip);
    expect((await secondStep(t.app, third.json().challenge, '000000', ip)).json().code).toBe('SECOND_FACTOR_INVALID');
    const refused = await t.prisma.mailboxSignIn.findFirstOrThrow({ where: { mailboxId: m.id }, orderBy: { lastAt: 'desc' } });
    expect(refused).toMatchObject({ service: 'panel', result: 'wrong_second_factor', mechanism: 'totp', clientAddress: ip });
    // and the webhook event for the mailbox's owner (with its domain), never for anyone else's tenant
    const events = await t.prisma.webhookEvent.findMany({
      where: { type: 'mailbox.second_factor_refused', data: { path: ['mailboxId'], equals: m.id } },
    });
    expect(events.map((e) => [e.ownerId, e.domainId, e.data])).toEqual([
      [owner.id, domain.id, { mailboxId: m.id, domainId: domain.id, ownerId: owner.id, clientAddress: ip, mechanism: 'totp' }],
    ]);
    expect(await t.prisma.auditEvent.count({ where: { action: 'mailbox.2fa.enable', targetId: m.id, ownerId: owner.id } })).toBe(1);
  });

  test('a code already used is refused within its window (replay), even on a new challenge', async () => {
    const u = await enrolledUser();
    const code = generateTotpCode(u.secret, Date.now());
    const ip = uniqueIp();
    const a = await passwordStep(t.app, u.email, u.password, ip);
    expect((await secondStep(t.app, a.json().challenge, code, ip)).statusCode).toBe(200);
    const b = await passwordStep(t.app, u.email, u.password, ip);
    const replay = await secondStep(t.app, b.json().challenge, code, ip);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('SECOND_FACTOR_INVALID');
    // An older code (previous step) is refused as well once a later step was used.
    const older = await secondStep(t.app, b.json().challenge, generateTotpCode(u.secret, Date.now() - 30_000), ip);
    expect(older.json().code).toBe('SECOND_FACTOR_INVALID');
  });

  test('clock drift: one step either side is accepted, two steps are not', async () => {
    const u = await enrolledUser();
    const ip = uniqueIp();
    const tooFar = await passwordStep(t.app, u.email, u.password, ip);
    expect((await secondStep(t.app, tooFar.json().challenge, generateTotpCode(u.secret, Date.now() + 90_000), ip)).json().code).toBe(
      'SECOND_FACTOR_INVALID',
    );
    expect((await secondStep(t.app, tooFar.json().challenge, generateTotpCode(u.secret, Date.now() - 90_000), ip)).json().code).toBe(
      'SECOND_FACTOR_INVALID',
    );
    const behind = await passwordStep(t.app, u.email, u.password, ip);
    expect((await secondStep(t.app, behind.json().challenge, generateTotpCode(u.secret, Date.now() - 30_000), ip)).statusCode).toBe(200);
    const ahead = await passwordStep(t.app, u.email, u.password, ip);
    expect((await secondStep(t.app, ahead.json().challenge, generateTotpCode(u.secret, Date.now() + 30_000), ip)).statusCode).toBe(200);
    const row = await t.prisma.totpFactor.findUniqueOrThrow({ where: { userId: u.id } });
    expect(Number(row.lastUsedStep)).toBeGreaterThanOrEqual(totpStepAt(Date.now()));
  });

  test('recovery codes: stored as argon2id hashes, each signs in once', async () => {
    const u = await enrolledUser();
    const rows = await t.prisma.recoveryCode.findMany({ where: { userId: u.id } });
    expect(rows).toHaveLength(10);
    for (const r of rows) expect(r.codeHash).toMatch(/^\$argon2id\$/);
    expect(JSON.stringify(rows)).not.toContain(u.recoveryCodes[0]!.replace('-', ''));
    const ip = uniqueIp();
    const a = await passwordStep(t.app, u.email, u.password, ip);
    const used = await secondStep(t.app, a.json().challenge, u.recoveryCodes[0]!.toUpperCase(), ip);
    expect(used.statusCode, used.body).toBe(200);
    const b = await passwordStep(t.app, u.email, u.password, ip);
    const again = await secondStep(t.app, b.json().challenge, u.recoveryCodes[0]!, ip);
    expect(again.json().code).toBe('SECOND_FACTOR_INVALID');
    const other = await secondStep(t.app, b.json().challenge, u.recoveryCodes[1]!, ip, { method: 'recovery' });
    expect(other.statusCode).toBe(200);
    // logged by mechanism: a used recovery code refused, two accepted (identical ones share a row)
    const log = await t.prisma.userSignIn.findMany({ where: { userId: u.id, mechanism: 'recovery' }, orderBy: { id: 'asc' } });
    expect(log.map((r) => [r.result, r.attempts])).toEqual([
      ['ok', 2],
      ['wrong_second_factor', 1],
    ]);
    const s = sessionOf(other);
    expect((await call(t.app, s, 'GET', '/api/v1/me/2fa')).json().recoveryCodesRemaining).toBe(8);
  });

  test('regenerating recovery codes needs the password or a code, and voids the old ones', async () => {
    const u = await enrolledUser();
    const ip = uniqueIp();
    const a = await passwordStep(t.app, u.email, u.password, ip);
    const s = sessionOf(await secondStep(t.app, a.json().challenge, u.recoveryCodes[0]!, ip));
    const wrong = await call(t.app, s, 'POST', '/api/v1/me/2fa/recovery-codes', { password: 'not the password at all' });
    expect(wrong.statusCode).toBe(400);
    const none = await call(t.app, s, 'POST', '/api/v1/me/2fa/recovery-codes', {});
    expect(none.statusCode).toBe(400);
    const fresh = await call(t.app, s, 'POST', '/api/v1/me/2fa/recovery-codes', { password: u.password });
    expect(fresh.statusCode, fresh.body).toBe(200);
    const codes: string[] = fresh.json().recoveryCodes;
    expect(codes).toHaveLength(10);
    const b = await passwordStep(t.app, u.email, u.password, ip);
    expect((await secondStep(t.app, b.json().challenge, u.recoveryCodes[1]!, ip)).json().code).toBe('SECOND_FACTOR_INVALID');
    expect((await secondStep(t.app, b.json().challenge, codes[0]!, ip)).statusCode).toBe(200);
    expect(await t.prisma.auditEvent.count({ where: { targetId: u.id, action: 'user.2fa.recovery_codes.regenerate' } })).toBe(1);
  });

  test('disabling TOTP needs the password or a code; afterwards the password alone signs in', async () => {
    const u = await enrolledUser();
    const ip = uniqueIp();
    const a = await passwordStep(t.app, u.email, u.password, ip);
    const s = sessionOf(await secondStep(t.app, a.json().challenge, u.recoveryCodes[0]!, ip));
    const refused = await call(t.app, s, 'POST', '/api/v1/me/2fa/totp/disable', { code: '000000' });
    expect(refused.statusCode).toBe(400);
    const off = await call(t.app, s, 'POST', '/api/v1/me/2fa/totp/disable', { code: generateTotpCode(u.secret, Date.now()) });
    expect(off.statusCode, off.body).toBe(204);
    expect(await t.prisma.recoveryCode.count({ where: { userId: u.id } })).toBe(0);
    const plain = await passwordStep(t.app, u.email, u.password, ip);
    expect(plain.json()).toMatchObject({ kind: 'user' });
    expect(await t.prisma.auditEvent.count({ where: { targetId: u.id, action: 'user.2fa.disable' } })).toBe(1);
  });

  test('an API key cannot change two-factor settings', async () => {
    const { createKey } = await import('../testing.ts');
    const u = await createUser(t, { role: 'ADMIN' });
    const key = await createKey(t.prisma, u.id, ['owners:write', 'owners:read']);
    const res = await call(t.app, { key }, 'POST', '/api/v1/me/2fa/totp');
    expect(res.statusCode).toBe(403);
  });
});

describe('abuse: challenges and codes', () => {
  test('a challenge is single use: replaying a completed challenge fails', async () => {
    const u = await enrolledUser();
    const ip = uniqueIp();
    const a = await passwordStep(t.app, u.email, u.password, ip);
    expect((await secondStep(t.app, a.json().challenge, generateTotpCode(u.secret, Date.now()), ip)).statusCode).toBe(200);
    const replay = await secondStep(t.app, a.json().challenge, u.recoveryCodes[0]!, ip);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('CHALLENGE_INVALID');
  });

  test('forged, expired, foreign-client and enrolment-only challenges are refused', async () => {
    const u = await enrolledUser();
    const ip = uniqueIp();
    const code = generateTotpCode(u.secret, Date.now());
    expect((await secondStep(t.app, 'A'.repeat(43), code, ip)).json().code).toBe('CHALLENGE_INVALID');
    const a = await passwordStep(t.app, u.email, u.password, ip);
    const other = await secondStep(t.app, a.json().challenge, code, uniqueIp());
    expect(other.json().code).toBe('CHALLENGE_INVALID');
    const otherAgent = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login/second-factor',
      payload: { challenge: a.json().challenge, code },
      remoteAddress: ip,
      headers: { 'user-agent': 'other' },
    });
    expect(otherAgent.json().code).toBe('CHALLENGE_INVALID');
    const asEnrolment = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login/enrol/totp',
      payload: { challenge: a.json().challenge },
      remoteAddress: ip,
      headers: { 'user-agent': UA },
    });
    expect(asEnrolment.json().code).toBe('CHALLENGE_INVALID');
    await t.prisma.loginChallenge.updateMany({ where: { userId: u.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const expired = await secondStep(t.app, a.json().challenge, code, ip);
    expect(expired.json().code).toBe('CHALLENGE_INVALID');
    // A challenge is no session: it opens nothing else.
    const asCookie = await t.app.inject({ method: 'GET', url: '/api/v1/me', cookies: { mailroom_session: a.json().challenge } });
    expect(asCookie.statusCode).toBe(401);
  });

  test("the wrong user's code does not complete a challenge (codes are checked against the challenge's account)", async () => {
    const victim = await enrolledUser();
    const attacker = await enrolledUser();
    const ip = uniqueIp();
    const a = await passwordStep(t.app, victim.email, victim.password, ip);
    const res = await secondStep(t.app, a.json().challenge, generateTotpCode(attacker.secret, Date.now()), ip);
    expect(res.json().code).toBe('SECOND_FACTOR_INVALID');
    const res2 = await secondStep(t.app, a.json().challenge, attacker.recoveryCodes[0]!, ip);
    expect(res2.json().code).toBe('SECOND_FACTOR_INVALID');
    expect(await t.prisma.session.count({ where: { userId: victim.id } })).toBe(1); // only the enrolment session
  });

  test('a challenge dies after 5 wrong codes', async () => {
    const u = await enrolledUser();
    const ip = uniqueIp();
    const a = await passwordStep(t.app, u.email, u.password, ip);
    await t.prisma.authThrottle.deleteMany({ where: { key: { contains: u.email } } });
    for (let i = 0; i < 5; i++) {
      await secondStep(t.app, a.json().challenge, String(100000 + i), ip);
      await t.prisma.authThrottle.deleteMany({ where: { key: { contains: u.email } } });
    }
    const late = await secondStep(t.app, a.json().challenge, generateTotpCode(u.secret, Date.now()), ip);
    expect(late.json().code).toBe('CHALLENGE_INVALID');
    // five wrong codes from one client: one entry counted five times (a dead challenge checks no code: not logged)
    const wrong = await t.prisma.userSignIn.findMany({ where: { userId: u.id, result: 'wrong_second_factor' } });
    expect(wrong.map((r) => [r.mechanism, r.attempts, r.clientAddress])).toEqual([['totp', 5, ip]]);
    // the owner's webhooks hear it once for the entry, not five times
    const events = await t.prisma.webhookEvent.findMany({ where: { type: 'user.second_factor_refused', ownerId: u.id } });
    expect(events.map((e) => e.data)).toEqual([{ userId: u.id, ownerId: u.id, clientAddress: ip, mechanism: 'totp' }]);
  });

  test('wrong codes are throttled per account, and a right password in between does not reset the count', async () => {
    const u = await enrolledUser();
    const ip = uniqueIp();
    const first = await passwordStep(t.app, u.email, u.password, ip);
    const free: string[] = [];
    for (let i = 0; i < 3; i++) free.push((await secondStep(t.app, first.json().challenge, String(200000 + i), ip)).json().code);
    expect(free).toEqual(['SECOND_FACTOR_INVALID', 'SECOND_FACTOR_INVALID', 'SECOND_FACTOR_INVALID']);
    // A right password starts a new challenge but leaves the count of codes where it was.
    const challenges = [
      (await passwordStep(t.app, u.email, u.password, ip)).json().challenge,
      (await passwordStep(t.app, u.email, u.password, ip)).json().challenge,
    ];
    const row = await t.prisma.authThrottle.findUniqueOrThrow({ where: { key: `2fa:acct:${u.email}` } });
    expect(row.failures).toBe(3);
    // A burst of guesses past the free ones: the schedule refuses what it does not allow.
    const burst = await Promise.all(
      challenges.flatMap((c, n) => [0, 1, 2, 3].map((i) => secondStep(t.app, c, String(300000 + n * 10 + i), ip))),
    );
    const throttled = burst.filter((r) => r.json().code === 'THROTTLED');
    expect(throttled.length).toBeGreaterThan(0);
    expect(Number(throttled[0]!.headers['retry-after'])).toBeGreaterThan(0);
    expect(burst.every((r) => ['THROTTLED', 'SECOND_FACTOR_INVALID'].includes(r.json().code))).toBe(true);
  });

  test('finished challenges of an account are removed when it gets a new one', async () => {
    const u = await enrolledUser();
    const ip = uniqueIp();
    const a = await passwordStep(t.app, u.email, u.password, ip);
    expect((await secondStep(t.app, a.json().challenge, u.recoveryCodes[0]!, ip)).statusCode).toBe(200);
    await passwordStep(t.app, u.email, u.password, ip);
    await t.prisma.loginChallenge.updateMany({ where: { userId: u.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await passwordStep(t.app, u.email, u.password, ip);
    const left = await t.prisma.loginChallenge.findMany({ where: { userId: u.id } });
    expect(left).toHaveLength(1);
    expect(left[0]!.consumedAt).toBeNull();
    expect(left[0]!.expiresAt.getTime()).toBeGreaterThan(Date.now());
  });

  test('concurrent completions of one challenge create one session', async () => {
    const u = await enrolledUser();
    const ip = uniqueIp();
    const a = await passwordStep(t.app, u.email, u.password, ip);
    const before = await t.prisma.session.count({ where: { userId: u.id } });
    const results = await Promise.all([
      secondStep(t.app, a.json().challenge, u.recoveryCodes[0]!, ip),
      secondStep(t.app, a.json().challenge, u.recoveryCodes[1]!, ip),
      secondStep(t.app, a.json().challenge, generateTotpCode(u.secret, Date.now()), ip),
    ]);
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(await t.prisma.session.count({ where: { userId: u.id } })).toBe(before + 1);
  });
});

describe('admin reset', () => {
  test("an admin resets an owner's second factors: factors gone, sessions ended, audited; the owner signs in with the password", async () => {
    const owner = await enrolledUser();
    const ownerSession = await (async () => {
      const ip = uniqueIp();
      const a = await passwordStep(t.app, owner.email, owner.password, ip);
      return sessionOf(await secondStep(t.app, a.json().challenge, generateTotpCode(owner.secret, Date.now()), ip));
    })();
    const admin = await createUser(t, { role: 'ADMIN' });
    const adminSession = await signIn(admin.email, admin.password);
    const otherOwner = await createUser(t);
    const forbidden = await call(
      t.app,
      await signIn(otherOwner.email, otherOwner.password),
      'DELETE',
      `/api/v1/users/${owner.id}/second-factors`,
    );
    expect(forbidden.statusCode).toBe(403);
    const res = await call(t.app, adminSession, 'DELETE', `/api/v1/users/${owner.id}/second-factors`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ factorsRemoved: 1 });
    expect(res.json().sessionsEnded).toBeGreaterThanOrEqual(2);
    expect((await call(t.app, ownerSession, 'GET', '/api/v1/me')).statusCode).toBe(401);
    expect(await t.prisma.recoveryCode.count({ where: { userId: owner.id } })).toBe(0);
    expect(await t.prisma.auditEvent.count({ where: { action: 'user.2fa.reset', targetId: owner.id, actorId: admin.id } })).toBe(1);
    expect((await passwordStep(t.app, owner.email, owner.password, uniqueIp())).json()).toMatchObject({ kind: 'user' });
    const self = await call(t.app, adminSession, 'DELETE', `/api/v1/users/${admin.id}/second-factors`);
    expect(self.statusCode).toBe(403);
    const missing = await call(t.app, adminSession, 'DELETE', `/api/v1/users/01900000-0000-7000-8000-000000000000/second-factors`);
    expect(missing.statusCode).toBe(404);
  });
});

describe('MAILROOM_REQUIRE_2FA policy', () => {
  let admins: TestContext;
  let all: TestContext;
  beforeAll(async () => {
    admins = await createTestApp({ requireTwoFactor: 'admins' });
    all = await createTestApp({ requireTwoFactor: 'all' });
  });
  afterAll(async () => {
    await admins?.close();
    await all?.close();
  });

  test('the setting is validated at start', async () => {
    const { apiEnvSchema } = await import('../config.ts');
    const { parseEnv } = await import('@mailroom/runtime');
    expect(() => parseEnv(apiEnvSchema, { MAILROOM_REQUIRE_2FA: 'yes' })).toThrow(/MAILROOM_REQUIRE_2FA/);
    expect(parseEnv(apiEnvSchema, { MAILROOM_REQUIRE_2FA: 'all' }).MAILROOM_REQUIRE_2FA).toBe('all');
    expect(parseEnv(apiEnvSchema, {}).MAILROOM_REQUIRE_2FA).toBe('off');
  });

  test('admins: an admin without a factor is sent to enrolment, which only the enrolment endpoints accept; owners are not', async () => {
    const admin = await createUser(admins, { role: 'ADMIN' });
    const ip = uniqueIp();
    const first = await passwordStep(admins.app, admin.email, admin.password, ip);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ enrolmentRequired: true });
    expect(first.cookies.find((c) => c.name === 'mailroom_session')).toBeUndefined();
    const challenge = first.json().challenge as string;
    // The enrolment challenge is no second-factor challenge and no session.
    expect((await secondStep(admins.app, challenge, '123456', ip)).json().code).toBe('CHALLENGE_INVALID');
    expect((await admins.app.inject({ method: 'GET', url: '/api/v1/me', cookies: { mailroom_session: challenge } })).statusCode).toBe(401);
    const enrol = (url: string, payload: object, from = ip) =>
      admins.app.inject({ method: 'POST', url, payload, remoteAddress: from, headers: { 'user-agent': UA } });
    expect((await enrol('/api/v1/auth/login/enrol/totp', { challenge }, uniqueIp())).json().code).toBe('CHALLENGE_INVALID');
    const started = await enrol('/api/v1/auth/login/enrol/totp', { challenge });
    expect(started.statusCode, started.body).toBe(200);
    const { secret } = started.json();
    const wrong = await enrol('/api/v1/auth/login/enrol/totp/confirm', { challenge, code: generateTotpCode(secret, Date.now() + 120_000) });
    expect(wrong.json().code).toBe('SECOND_FACTOR_INVALID');
    const done = await enrol('/api/v1/auth/login/enrol/totp/confirm', { challenge, code: generateTotpCode(secret, Date.now()) });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toMatchObject({ kind: 'user', user: { id: admin.id } });
    expect(done.json().recoveryCodes).toHaveLength(10);
    // the admin's log: the password (enrolment asked next), the wrong code at enrolment, the session with TOTP
    const steps = await admins.prisma.userSignIn.findMany({ where: { userId: admin.id }, orderBy: { id: 'asc' } });
    expect(steps.map((r) => [r.result, r.mechanism])).toEqual([
      ['second_factor', 'password'],
      ['wrong_second_factor', 'totp'],
      ['ok', 'totp'],
    ]);
    // an admin's refused code goes to administrators' webhooks only (no tenant)
    const events = await admins.prisma.webhookEvent.findMany({
      where: { type: 'user.second_factor_refused', data: { path: ['userId'], equals: admin.id } },
    });
    expect(events.map((e) => e.ownerId)).toEqual([null]);
    const s = sessionOf(done);
    expect((await call(admins.app, s, 'GET', '/api/v1/me/2fa')).json()).toMatchObject({ totp: { enabled: true }, required: true });
    // The enrolment challenge is used up.
    expect((await enrol('/api/v1/auth/login/enrol/totp', { challenge })).json().code).toBe('CHALLENGE_INVALID');
    // From now on sign-in asks for a code.
    expect((await passwordStep(admins.app, admin.email, admin.password, ip)).json()).toMatchObject({ secondFactorRequired: true });
    // Under the policy the last factor cannot be removed.
    const off = await call(admins.app, s, 'POST', '/api/v1/me/2fa/totp/disable', { password: admin.password });
    expect(off.statusCode).toBe(403);
    expect(off.json().code).toBe('SECOND_FACTOR_REQUIRED');
    const owner = await createUser(admins);
    expect((await passwordStep(admins.app, owner.email, owner.password, uniqueIp())).json()).toMatchObject({ kind: 'user' });
  });

  test('all: owners and mailbox users are sent to enrolment too; after an admin reset the user enrols again', async () => {
    const owner = await createUser(all);
    expect((await passwordStep(all.app, owner.email, owner.password, uniqueIp())).json()).toMatchObject({ enrolmentRequired: true });
    const domain = await all.prisma.domain.create({
      data: { name: `${uniqueName('pol')}.example`, ownerId: owner.id, verifiedAt: new Date() },
    });
    const m = await all.prisma.mailbox.create({
      data: { domainId: domain.id, localPart: 'pol', passwordHash: await all.hasher.hash(STRONG_PASSWORD) },
    });
    const ip = uniqueIp();
    const first = await passwordStep(all.app, `pol@${domain.name}`, STRONG_PASSWORD, ip);
    expect(first.json()).toMatchObject({ enrolmentRequired: true });
    const post = (url: string, payload: object) =>
      all.app.inject({ method: 'POST', url, payload, remoteAddress: ip, headers: { 'user-agent': UA } });
    const { secret } = (await post('/api/v1/auth/login/enrol/totp', { challenge: first.json().challenge })).json();
    const done = await post('/api/v1/auth/login/enrol/totp/confirm', {
      challenge: first.json().challenge,
      code: generateTotpCode(secret, Date.now()),
    });
    expect(done.json()).toMatchObject({ kind: 'mailbox', mailbox: { id: m.id } });
    // enrolment at sign-in: the password step, then the session with the new code
    const steps = await all.prisma.mailboxSignIn.findMany({ where: { mailboxId: m.id }, orderBy: { id: 'asc' } });
    expect(steps.map((r) => [r.result, r.mechanism])).toEqual([
      ['second_factor', 'password'],
      ['ok', 'totp'],
    ]);
    const admin = await createUser(all, { role: 'ADMIN' });
    await all.prisma.totpFactor.create({ data: { userId: admin.id, secretEnc: 'x', confirmedAt: new Date() } }); // setup: the admin has a factor
    const { createKey } = await import('../testing.ts');
    const key = await createKey(all.prisma, admin.id, ['owners:write']);
    const reset = await call(all.app, { key }, 'DELETE', `/api/v1/mailboxes/${m.id}/second-factors`);
    expect(reset.statusCode, reset.body).toBe(200);
    expect(reset.json()).toMatchObject({ factorsRemoved: 1, sessionsEnded: 1 });
    expect((await call(all.app, sessionOf(done), 'GET', '/api/v1/me')).statusCode).toBe(401);
    expect(await all.prisma.auditEvent.count({ where: { action: 'mailbox.2fa.reset', targetId: m.id, ownerId: owner.id } })).toBe(1);
    expect((await passwordStep(all.app, `pol@${domain.name}`, STRONG_PASSWORD, ip)).json()).toMatchObject({ enrolmentRequired: true });
  });
});
