// Issue 14, passkeys: registration, management and passwordless sign-in through the real API, with a software
// authenticator producing real ES256 attestations and assertions; the abuse tests perform each attack on the server.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SoftAuthenticator } from '@mailroom/core/testing';
import {
  call,
  createKey,
  createTestApp,
  createUser,
  login,
  STRONG_PASSWORD,
  type Session,
  type TestContext,
  type TestUser,
  uniqueName,
} from '../testing.ts';

const ORIGIN = 'http://localhost:3000'; // the default relying party of the parsed empty environment (rpId localhost)

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

let ipSeq = 0;
/** A client address from its own /24, so the network throttle of one test never touches another. */
function uniqueIp(): string {
  ipSeq++;
  return `10.${100 + (ipSeq >> 8)}.${ipSeq & 255}.9`;
}

interface Enrolled {
  user: TestUser;
  session: Session;
  auth: SoftAuthenticator;
  passkeyId: string;
}

/** A panel user with one passkey registered through the API. */
async function enrol(opts: { role?: 'ADMIN' | 'OWNER'; counterStep?: number; name?: string } = {}): Promise<Enrolled> {
  const user = await createUser(t, { role: opts.role ?? 'OWNER' });
  const session = await login(t.app, user.email, user.password, uniqueIp());
  const auth = new SoftAuthenticator({ origin: ORIGIN, counterStep: opts.counterStep ?? 1 });
  const options = (await call(t.app, session, 'POST', '/api/v1/me/passkeys/registration-options', {})).json();
  const res = await call(t.app, session, 'POST', '/api/v1/me/passkeys', {
    name: opts.name ?? 'Laptop',
    response: auth.register(options).response,
  });
  expect(res.statusCode, res.body).toBe(201);
  return { user, session, auth, passkeyId: res.json().id };
}

async function loginOptions(ip = uniqueIp()) {
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/passkey/options', payload: {}, remoteAddress: ip });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { challenge: string; rpId: string; allowCredentials?: unknown[]; userVerification: string };
}

async function passkeyLogin(response: unknown, ip = uniqueIp()) {
  return t.app.inject({ method: 'POST', url: '/api/v1/auth/passkey/login', payload: { response }, remoteAddress: ip });
}

describe('passkey registration and management', () => {
  test('registration options ask for a discoverable credential with user verification preferred, excluding known passkeys', async () => {
    const { session } = await enrol();
    const options = (await call(t.app, session, 'POST', '/api/v1/me/passkeys/registration-options', {})).json();
    expect(options).toMatchObject({
      rp: { id: 'localhost', name: 'Mailroom' },
      attestation: 'none',
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    });
    expect(options.excludeCredentials).toHaveLength(1);
    expect(options.challenge.length).toBeGreaterThanOrEqual(32);
  });

  test('several passkeys per user: add, list with last use, rename, remove; every change audited', async () => {
    const { user, session, auth, passkeyId } = await enrol({ name: 'Laptop' });
    const options = (await call(t.app, session, 'POST', '/api/v1/me/passkeys/registration-options', {})).json();
    const second = await call(t.app, session, 'POST', '/api/v1/me/passkeys', { name: 'Phone', response: auth.register(options).response });
    expect(second.statusCode, second.body).toBe(201);
    expect(second.json()).toMatchObject({ name: 'Phone', transports: ['internal'], lastUsedAt: null });

    const list = (await call(t.app, session, 'GET', '/api/v1/me/passkeys')).json().items;
    expect(list.map((k: { name: string }) => k.name)).toEqual(['Laptop', 'Phone']);
    expect(JSON.stringify(list)).not.toMatch(/publicKey|credentialId|counter/);

    const renamed = await call(t.app, session, 'PATCH', `/api/v1/me/passkeys/${passkeyId}`, { name: 'Work laptop' });
    expect(renamed.json()).toMatchObject({ id: passkeyId, name: 'Work laptop' });
    expect((await call(t.app, session, 'DELETE', `/api/v1/me/passkeys/${second.json().id}`)).statusCode).toBe(204);
    expect((await call(t.app, session, 'GET', '/api/v1/me/passkeys')).json().items.map((k: { name: string }) => k.name)).toEqual([
      'Work laptop',
    ]);

    const events = await t.prisma.auditEvent.findMany({
      where: { targetId: user.id, action: { startsWith: 'user.passkey.' } },
      orderBy: { createdAt: 'asc' },
    });
    expect(events.map((e) => e.action)).toEqual(['user.passkey.add', 'user.passkey.add', 'user.passkey.rename', 'user.passkey.remove']);
    expect(events[0]!.ownerId).toBe(user.id);
  });

  test('abuse: another user cannot rename or remove my passkey (404), and it stays', async () => {
    const victim = await enrol();
    const attacker = await enrol();
    expect((await call(t.app, attacker.session, 'PATCH', `/api/v1/me/passkeys/${victim.passkeyId}`, { name: 'pwned' })).json().code).toBe(
      'NOT_FOUND',
    );
    expect((await call(t.app, attacker.session, 'DELETE', `/api/v1/me/passkeys/${victim.passkeyId}`)).json().code).toBe('NOT_FOUND');
    expect(await t.prisma.passkey.findUnique({ where: { id: victim.passkeyId } })).toMatchObject({ name: 'Laptop' });
  });

  test("abuse: a registration answering another user's challenge, a used challenge, another origin or an expired challenge is refused", async () => {
    const a = await enrol();
    const b = await enrol();
    const optionsOfA = (await call(t.app, a.session, 'POST', '/api/v1/me/passkeys/registration-options', {})).json();
    const forA = a.auth.register(optionsOfA).response;
    const stolen = await call(t.app, b.session, 'POST', '/api/v1/me/passkeys', { name: 'x', response: forA });
    expect([stolen.statusCode, stolen.json().code]).toEqual([400, 'PASSKEY_REJECTED']);

    const fresh = (await call(t.app, a.session, 'POST', '/api/v1/me/passkeys/registration-options', {})).json();
    const once = a.auth.register(fresh).response;
    expect((await call(t.app, a.session, 'POST', '/api/v1/me/passkeys', { name: 'once', response: once })).statusCode).toBe(201);
    const again = a.auth.register(fresh).response; // a new credential, the same (used) challenge
    expect((await call(t.app, a.session, 'POST', '/api/v1/me/passkeys', { name: 'twice', response: again })).json().code).toBe(
      'PASSKEY_REJECTED',
    );

    const forOrigin = (await call(t.app, a.session, 'POST', '/api/v1/me/passkeys/registration-options', {})).json();
    const phished = a.auth.register(forOrigin, { origin: 'https://evil.example' }).response;
    expect((await call(t.app, a.session, 'POST', '/api/v1/me/passkeys', { name: 'evil', response: phished })).json().code).toBe(
      'PASSKEY_REJECTED',
    );

    const late = (await call(t.app, a.session, 'POST', '/api/v1/me/passkeys/registration-options', {})).json();
    await t.prisma.webauthnChallenge.updateMany({
      where: { userId: a.user.id, purpose: 'registration' },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect(
      (await call(t.app, a.session, 'POST', '/api/v1/me/passkeys', { name: 'late', response: a.auth.register(late).response })).json().code,
    ).toBe('PASSKEY_REJECTED');
    expect(await t.prisma.passkey.count({ where: { userId: b.user.id } })).toBe(1);
    expect(await t.prisma.passkey.count({ where: { userId: a.user.id } })).toBe(2);
  });

  test('abuse: API keys and mailbox sessions cannot manage passkeys (403); a signed-out client gets 401', async () => {
    const { user } = await enrol();
    const key = await createKey(t.prisma, user.id, ['domains:write', 'mailboxes:write']);
    for (const [method, url, body] of [
      ['GET', '/api/v1/me/passkeys', undefined],
      ['POST', '/api/v1/me/passkeys/registration-options', {}],
    ] as const) {
      expect((await call(t.app, { key }, method, url, body)).json().code).toBe('FORBIDDEN');
      expect((await call(t.app, null, method, url, body)).statusCode).toBe(401);
    }
    const domain = await t.prisma.domain.create({ data: { name: `${uniqueName('d')}.example`, ownerId: user.id, verifiedAt: new Date() } });
    await t.prisma.mailbox.create({ data: { domainId: domain.id, localPart: 'user', passwordHash: await t.hasher.hash(STRONG_PASSWORD) } });
    const mailboxSession = await login(t.app, `user@${domain.name}`, STRONG_PASSWORD, uniqueIp());
    expect((await call(t.app, mailboxSession, 'POST', '/api/v1/me/passkeys/registration-options', {})).json().code).toBe('FORBIDDEN');
  });
});

describe('passwordless sign-in', () => {
  test('options name no credentials (discoverable); the assertion creates the same session as a password login', async () => {
    const { user, auth, passkeyId } = await enrol();
    const options = await loginOptions();
    expect(options).toMatchObject({ rpId: 'localhost', userVerification: 'preferred' });
    expect(options.allowCredentials ?? []).toEqual([]);
    const res = await passkeyLogin(auth.assert(options));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'user', authMethod: 'session', user: { id: user.id } });
    const cookie = res.cookies.find((c) => c.name === 'mailroom_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    const session = { cookie: `mailroom_session=${cookie.value}`, csrf: res.json().csrfToken };
    expect((await call(t.app, session, 'GET', '/api/v1/me')).json().user.id).toBe(user.id);
    // the session can write (CSRF token valid), e.g. rename the passkey it signed in with
    expect((await call(t.app, session, 'PATCH', `/api/v1/me/passkeys/${passkeyId}`, { name: 'Used' })).statusCode).toBe(200);
    const stored = await t.prisma.passkey.findUniqueOrThrow({ where: { id: passkeyId } });
    expect(stored.counter).toBe(1n);
    expect(stored.lastUsedAt).not.toBeNull();
    const audit = await t.prisma.auditEvent.findFirst({
      where: { targetId: user.id, action: 'auth.login' },
      orderBy: { createdAt: 'desc' },
    });
    expect(audit?.details).toEqual({ method: 'passkey' });
    const logged = await t.prisma.userSignIn.findFirstOrThrow({ where: { userId: user.id }, orderBy: { id: 'desc' } });
    expect(logged).toMatchObject({ result: 'ok', mechanism: 'passkey' });
  });

  test('an authenticator without a signature counter (always 0) signs in repeatedly', async () => {
    const { auth } = await enrol({ counterStep: 0 });
    for (let i = 0; i < 2; i++) expect((await passkeyLogin(auth.assert(await loginOptions()))).statusCode).toBe(200);
  });

  test('abuse: a replayed assertion is refused (the challenge was answered once)', async () => {
    const { auth } = await enrol();
    const assertion = auth.assert(await loginOptions());
    expect((await passkeyLogin(assertion)).statusCode).toBe(200);
    const replay = await passkeyLogin(assertion);
    expect([replay.statusCode, replay.json().code]).toEqual([401, 'INVALID_CREDENTIALS']);
    expect(replay.cookies.find((c) => c.name === 'mailroom_session')).toBeUndefined();
  });

  test('abuse: a challenge the server never issued, one issued for registration, an expired one, another origin', async () => {
    const { user, session, auth } = await enrol();
    const options = await loginOptions();
    expect(
      (await passkeyLogin(auth.assert(options, { challenge: Buffer.from('made up by the attacker!').toString('base64url') }))).json().code,
    ).toBe('INVALID_CREDENTIALS');
    const registration = (await call(t.app, session, 'POST', '/api/v1/me/passkeys/registration-options', {})).json();
    expect((await passkeyLogin(auth.assert(options, { challenge: registration.challenge }))).json().code).toBe('INVALID_CREDENTIALS');
    expect((await passkeyLogin(auth.assert(options, { origin: 'https://evil.example' }))).json().code).toBe('INVALID_CREDENTIALS');
    // (a fourth failure of this account would be throttled: the expired challenge is tried by another user)
    const other = await enrol();
    const late = await loginOptions();
    await t.prisma.$executeRaw`UPDATE webauthn_challenges SET expires_at = now() - interval '1 second' WHERE purpose = 'authentication'`;
    expect((await passkeyLogin(other.auth.assert(late))).json().code).toBe('INVALID_CREDENTIALS');
    for (const id of [user.id, other.user.id]) {
      expect(
        await t.prisma.auditEvent.count({ where: { targetId: id, action: 'auth.login', details: { equals: { method: 'passkey' } } } }),
      ).toBe(0);
    }
    // each refusal of a registered passkey is in its account's sign-in log (three from different addresses here)
    const refused = await t.prisma.userSignIn.findMany({ where: { userId: { in: [user.id, other.user.id] }, mechanism: 'passkey' } });
    expect(refused.map((r) => [r.userId, r.result]).sort()).toEqual(
      [
        [user.id, 'passkey_refused'],
        [user.id, 'passkey_refused'],
        [user.id, 'passkey_refused'],
        [other.user.id, 'passkey_refused'],
      ].sort(),
    );
  });

  test("abuse: a credential presented with another user's handle, or an unknown credential, is refused", async () => {
    const a = await enrol();
    const b = await enrol();
    const handleOfB = b.auth.credentials[0]!.userHandle;
    const res = await passkeyLogin(a.auth.assert(await loginOptions(), { userHandle: handleOfB }));
    expect([res.statusCode, res.json().code]).toEqual([401, 'INVALID_CREDENTIALS']);
    expect((await passkeyLogin(a.auth.assert(await loginOptions(), { userHandle: null }))).json().code).toBe('INVALID_CREDENTIALS');
    const stranger = new SoftAuthenticator({ origin: ORIGIN });
    stranger.register({ challenge: 'x', rp: { id: 'localhost' }, user: { id: Buffer.from(a.user.id).toString('base64url') } });
    expect((await passkeyLogin(stranger.assert(await loginOptions()))).json().code).toBe('INVALID_CREDENTIALS');
    // A's passkey refused twice (A's log); the unknown credential names nobody, claimed handle or not: B's log is empty
    expect(await t.prisma.userSignIn.count({ where: { userId: a.user.id, result: 'passkey_refused' } })).toBe(2);
    expect(await t.prisma.userSignIn.count({ where: { userId: b.user.id, mechanism: 'passkey' } })).toBe(0);
  });

  test('abuse: a signature counter that went backwards (a cloned authenticator) is refused', async () => {
    const { auth, passkeyId } = await enrol({ counterStep: 5 });
    expect((await passkeyLogin(auth.assert(await loginOptions()))).statusCode).toBe(200); // counter 5
    const clone = await passkeyLogin(auth.assert(await loginOptions(), { counter: 3 }));
    expect([clone.statusCode, clone.json().code]).toEqual([401, 'INVALID_CREDENTIALS']);
    expect((await t.prisma.passkey.findUniqueOrThrow({ where: { id: passkeyId } })).counter).toBe(5n);
  });

  test('abuse: a disabled user, and the passkey of a removed passkey, cannot sign in', async () => {
    const disabled = await enrol();
    await t.prisma.user.update({ where: { id: disabled.user.id }, data: { disabled: true } });
    const res = await passkeyLogin(disabled.auth.assert(await loginOptions()));
    expect([res.statusCode, res.json().code]).toEqual([403, 'ACCOUNT_DISABLED']);
    expect(await t.prisma.session.count({ where: { userId: disabled.user.id } })).toBe(1); // only the enrolment's
    expect(await t.prisma.userSignIn.count({ where: { userId: disabled.user.id, result: 'disabled', mechanism: 'passkey' } })).toBe(1);

    const removed = await enrol();
    await call(t.app, removed.session, 'DELETE', `/api/v1/me/passkeys/${removed.passkeyId}`);
    expect((await passkeyLogin(removed.auth.assert(await loginOptions()))).json().code).toBe('INVALID_CREDENTIALS');
  });

  test('abuse: failures are throttled per account like wrong passwords; then even a valid assertion waits (429)', async () => {
    const { auth } = await enrol();
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const bad = auth.assert(await loginOptions(), { challenge: Buffer.from(`forged challenge ${i}`).toString('base64url') });
      codes.push((await passkeyLogin(bad)).json().code);
    }
    expect(codes.slice(0, 3)).toEqual(['INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'INVALID_CREDENTIALS']);
    expect(codes[3]).toBe('THROTTLED');
    const res = await passkeyLogin(auth.assert(await loginOptions()));
    expect([res.statusCode, res.json().code]).toEqual([429, 'THROTTLED']);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  test('abuse: unknown credentials sprayed from one network are throttled on the network', async () => {
    const ip = uniqueIp();
    const stranger = new SoftAuthenticator({ origin: ORIGIN });
    const codes: string[] = [];
    for (let i = 0; i < 12; i++) {
      stranger.register({ challenge: 'x', rp: { id: 'localhost' }, user: { id: 'eA' } });
      const options = await loginOptions(ip);
      codes.push((await passkeyLogin(stranger.assert(options, { credential: stranger.credentials[i]! }), ip)).json().code);
    }
    expect(codes).toContain('THROTTLED');
    expect(codes.slice(0, 10).every((c) => c === 'INVALID_CREDENTIALS')).toBe(true);
  });

  test('abuse: malformed assertions get 400/401, never 500', async () => {
    const { auth } = await enrol();
    const good = auth.assert(await loginOptions());
    for (const response of [
      {},
      { ...good, type: 'password' },
      { ...good, response: { ...good.response, signature: '!!!' } },
      { ...good, response: { ...good.response, authenticatorData: 'AAAA' } },
      { ...good, response: { ...good.response, clientDataJSON: Buffer.from('{"nope":1}').toString('base64url') } },
      { ...good, id: 'x'.repeat(5000) },
    ]) {
      const res = await passkeyLogin(response);
      expect([400, 401], res.body).toContain(res.statusCode);
    }
  });
});

/** The password step of a user with a second factor: the pending sign-in's challenge and methods. */
async function passwordStep(app: TestContext['app'], user: TestUser, ip: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: user.email, password: user.password },
    remoteAddress: ip,
  });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.cookies.find((c) => c.name === 'mailroom_session')).toBeUndefined();
  return res.json() as { secondFactorRequired: true; challenge: string; methods: string[] };
}

async function secondFactorOptions(app: TestContext['app'], challenge: string, ip: string) {
  return app.inject({ method: 'POST', url: '/api/v1/auth/login/second-factor/passkey/options', payload: { challenge }, remoteAddress: ip });
}

async function secondFactor(app: TestContext['app'], challenge: string, response: unknown, ip: string) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/auth/login/second-factor/passkey',
    payload: { challenge, response },
    remoteAddress: ip,
  });
}

describe('passkey as the second factor of a password sign-in', () => {
  test("a user with a passkey gets 'passkey' in methods; an assertion of it completes the challenge with a session", async () => {
    const { user, auth, passkeyId } = await enrol();
    const ip = uniqueIp();
    const step = await passwordStep(t.app, user, ip);
    expect(step).toMatchObject({ secondFactorRequired: true, methods: ['passkey'] });
    const options = await secondFactorOptions(t.app, step.challenge, ip);
    expect(options.statusCode, options.body).toBe(200);
    expect(options.json().allowCredentials.map((c: { id: string }) => c.id)).toEqual([auth.credentials[0]!.id]);
    const res = await secondFactor(t.app, step.challenge, auth.assert(options.json()), ip);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'user', user: { id: user.id } });
    expect(res.cookies.find((c) => c.name === 'mailroom_session')?.httpOnly).toBe(true);
    expect((await t.prisma.passkey.findUniqueOrThrow({ where: { id: passkeyId } })).lastUsedAt).not.toBeNull();
    const audit = await t.prisma.auditEvent.findFirst({
      where: { targetId: user.id, action: 'auth.login' },
      orderBy: { createdAt: 'desc' },
    });
    expect(audit?.details).toEqual({ method: 'passkey' });
    // the pending sign-in was used up
    expect((await secondFactor(t.app, step.challenge, auth.assert(options.json()), ip)).json().code).toBe('CHALLENGE_INVALID');
  });

  test("abuse: another user's passkey, a passwordless challenge, or a replayed assertion does not complete a sign-in", async () => {
    const victim = await enrol();
    const attacker = await enrol();
    const ip = uniqueIp();
    const step = await passwordStep(t.app, victim.user, ip);
    const options = (await secondFactorOptions(t.app, step.challenge, ip)).json();
    // the attacker's own valid passkey, signing the challenge issued for the victim
    const foreign = await secondFactor(t.app, step.challenge, attacker.auth.assert(options), ip);
    expect([foreign.statusCode, foreign.json().code]).toEqual([401, 'SECOND_FACTOR_INVALID']);
    // the victim's passkey answering a passwordless challenge (issued to nobody) instead of this sign-in's
    const loose = await secondFactor(t.app, step.challenge, victim.auth.assert(await loginOptions(ip)), ip);
    expect(loose.json().code).toBe('SECOND_FACTOR_INVALID');
    // an assertion for this sign-in is no passwordless sign-in either
    const fresh = (await secondFactorOptions(t.app, step.challenge, ip)).json();
    const assertion = victim.auth.assert(fresh);
    expect((await passkeyLogin(assertion, ip)).json().code).toBe('INVALID_CREDENTIALS');
    // where it belongs it completes the sign-in; replayed afterwards it completes nothing
    const good = await secondFactor(t.app, step.challenge, assertion, ip);
    expect(good.statusCode, good.body).toBe(200);
    expect((await secondFactor(t.app, step.challenge, assertion, ip)).json().code).toBe('CHALLENGE_INVALID');
    const again = await passwordStep(t.app, victim.user, ip);
    expect((await secondFactor(t.app, again.challenge, assertion, ip)).json().code).toBe('SECOND_FACTOR_INVALID');
    expect(await t.prisma.session.count({ where: { userId: attacker.user.id } })).toBe(1); // only the attacker's enrolment session
  });

  test('abuse: options for a challenge from another client, or a made-up challenge, are refused', async () => {
    const { user } = await enrol();
    const step = await passwordStep(t.app, user, uniqueIp());
    expect((await secondFactorOptions(t.app, step.challenge, uniqueIp())).json().code).toBe('CHALLENGE_INVALID');
    expect((await secondFactorOptions(t.app, 'not-a-challenge', uniqueIp())).json().code).toBe('CHALLENGE_INVALID');
  });
});

describe('MAILROOM_REQUIRE_2FA=all with passkeys', () => {
  let strict: TestContext;
  beforeAll(async () => {
    strict = await createTestApp({ requireTwoFactor: 'all' });
  });
  afterAll(async () => strict?.close());

  test('a passkey is a second factor: sign-in asks for it, not for TOTP enrolment', async () => {
    const { user, auth } = await enrol(); /* added in a session of the policy-free app; both apps share the database */
    const ip = uniqueIp();
    const step = await passwordStep(strict.app, user, ip);
    expect(step.methods).toEqual(['passkey']);
    const options = (await secondFactorOptions(strict.app, step.challenge, ip)).json();
    expect((await secondFactor(strict.app, step.challenge, auth.assert(options), ip)).statusCode).toBe(200);
  });

  test('passwordless sign-in needs user verification (PIN, biometrics) under the policy', async () => {
    const { auth } = await enrol(); /* added in a session of the policy-free app; both apps share the database */
    const options = async () =>
      (await strict.app.inject({ method: 'POST', url: '/api/v1/auth/passkey/options', payload: {}, remoteAddress: uniqueIp() })).json();
    const login = (response: unknown) =>
      strict.app.inject({ method: 'POST', url: '/api/v1/auth/passkey/login', payload: { response }, remoteAddress: uniqueIp() });
    const presenceOnly = await login(auth.assert(await options(), { userVerified: false }));
    expect([presenceOnly.statusCode, presenceOnly.json().code]).toEqual([403, 'SECOND_FACTOR_REQUIRED']);
    expect(presenceOnly.cookies.find((c) => c.name === 'mailroom_session')).toBeUndefined();
    expect((await login(auth.assert(await options()))).statusCode).toBe(200);
  });

  test('the last passkey cannot be removed while it is the only factor; with two, one can go', async () => {
    const { user, auth } = await enrol(); /* added in a session of the policy-free app; both apps share the database */
    const ip = uniqueIp();
    const step = await passwordStep(strict.app, user, ip);
    const res = await secondFactor(
      strict.app,
      step.challenge,
      auth.assert((await secondFactorOptions(strict.app, step.challenge, ip)).json()),
      ip,
    );
    const session = {
      cookie: `mailroom_session=${res.cookies.find((c) => c.name === 'mailroom_session')!.value}`,
      csrf: res.json().csrfToken,
    };
    const [only] = (await call(strict.app, session, 'GET', '/api/v1/me/passkeys')).json().items;
    const refused = await call(strict.app, session, 'DELETE', `/api/v1/me/passkeys/${only.id}`);
    expect([refused.statusCode, refused.json().code]).toEqual([403, 'SECOND_FACTOR_REQUIRED']);
    expect(await t.prisma.passkey.count({ where: { userId: user.id } })).toBe(1);
    const options = (await call(strict.app, session, 'POST', '/api/v1/me/passkeys/registration-options', {})).json();
    expect(
      (await call(strict.app, session, 'POST', '/api/v1/me/passkeys', { name: 'Spare', response: auth.register(options).response }))
        .statusCode,
    ).toBe(201);
    expect((await call(strict.app, session, 'DELETE', `/api/v1/me/passkeys/${only.id}`)).statusCode).toBe(204);
  });
});
