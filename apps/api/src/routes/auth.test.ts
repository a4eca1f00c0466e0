import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createKey, createTestApp, createUser, login, STRONG_PASSWORD, type TestContext, uniqueName } from '../testing.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

function uniqueIp(): string {
  const n = Math.floor(Math.random() * 250) + 1;
  const m = Math.floor(Math.random() * 250) + 1;
  return `10.${n}.${m}.7`;
}

async function mailbox(ownerId: string, password = STRONG_PASSWORD) {
  const domain = await t.prisma.domain.create({ data: { name: `${uniqueName('d')}.example`, ownerId, verifiedAt: new Date() } });
  const m = await t.prisma.mailbox.create({
    data: { domainId: domain.id, localPart: 'user', passwordHash: await t.hasher.hash(password) },
  });
  return { domain, mailbox: m, address: `user@${domain.name}`, password };
}

describe('POST /auth/login', () => {
  test('signs an owner in: HttpOnly SameSite=Lax cookie holding an opaque token stored hashed, CSRF token in the body', async () => {
    const owner = await createUser(t);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: owner.email.toUpperCase(), password: owner.password },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ kind: 'user', authMethod: 'session', user: { id: owner.id, role: 'OWNER' }, mailbox: null, scopes: null });
    expect(body.csrfToken).toEqual(expect.any(String));
    const cookie = res.cookies.find((c) => c.name === 'mailroom_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(cookie.secure).toBeFalsy();
    const sessions = await t.prisma.session.findMany({ where: { userId: owner.id } });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.tokenHash).not.toContain(cookie.value);
    expect(JSON.stringify(sessions[0])).not.toContain(cookie.value);
  });

  test('sets Secure behind an HTTPS proxy (x-forwarded-proto from a trusted hop)', async () => {
    const owner = await createUser(t);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'x-forwarded-proto': 'https' },
      payload: { email: owner.email, password: owner.password },
    });
    expect(res.cookies.find((c) => c.name === 'mailroom_session')!.secure).toBe(true);
  });

  test('signs a mailbox user in with the full address', async () => {
    const owner = await createUser(t);
    const { address, password, mailbox: m } = await mailbox(owner.id);
    const s = await login(t.app, address.toUpperCase(), password);
    const me = await call(t.app, s, 'GET', '/api/v1/me');
    expect(me.json()).toMatchObject({
      kind: 'mailbox',
      user: null,
      mailbox: { id: m.id, address, usedBytes: 0, messageCount: 0, quotaBytes: null },
    });
    // A mailbox user can do nothing else.
    expect((await call(t.app, s, 'GET', '/api/v1/domains')).statusCode).toBe(403);
  });

  test('unknown account and wrong password get identical replies', async () => {
    const owner = await createUser(t);
    const ip = uniqueIp();
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress: ip,
      payload: { email: owner.email, password: 'wrong password 1' },
    });
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress: uniqueIp(),
      payload: { email: `nobody-${owner.email}`, password: 'wrong password 1' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    const strip = (b: Record<string, unknown>) => ({ ...b, requestId: undefined });
    expect(strip(wrong.json())).toEqual(strip(unknown.json()));
    expect(wrong.json().code).toBe('INVALID_CREDENTIALS');
  });

  test('repeated failures are throttled with 429 THROTTLED and Retry-After; repeating one wrong password does not add up', async () => {
    const owner = await createUser(t);
    const ip = uniqueIp();
    const attempt = (password: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: ip, payload: { email: owner.email, password } });
    for (let i = 0; i < 6; i++) expect((await attempt('the same stale password')).statusCode).toBe(401);
    // Six repeats of one password count once: the right password still works.
    expect((await attempt(owner.password)).statusCode).toBe(200);
    // The success cleared the account's count; three distinct guesses reach its free limit (3).
    for (let i = 0; i < 3; i++) expect((await attempt(`guess number ${i}`)).statusCode).toBe(401);
    // Now even the right password is refused until the delay has passed (this test app never waits: throttleSleepMaxMs 0).
    const blocked = await attempt(owner.password);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().code).toBe('THROTTLED');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
  });

  test('small throttle delays are waited out instead of refused (LOGIN_THROTTLE_WAIT_MAX_MS)', async () => {
    const patient = await createTestApp({ throttleSleepMaxMs: 5_000 });
    try {
      const owner = await createUser(patient);
      const ip = uniqueIp();
      const attempt = (password: string) =>
        patient.app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: ip, payload: { email: owner.email, password } });
      for (let i = 0; i < 3; i++) expect((await attempt(`wrong guess ${i}`)).statusCode).toBe(401);
      // The next attempt is delayed (1 s after three failures), not refused: the right password signs in.
      expect((await attempt(owner.password)).statusCode).toBe(200);
    } finally {
      await patient.close();
    }
  });

  test('a disabled owner with the right password gets ACCOUNT_DISABLED; a disabled mailbox MAILBOX_DISABLED', async () => {
    const owner = await createUser(t, { disabled: true });
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress: uniqueIp(),
      payload: { email: owner.email, password: owner.password },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('ACCOUNT_DISABLED');
    const other = await createUser(t);
    const { mailbox: m, address, password } = await mailbox(other.id);
    await t.prisma.mailbox.update({ where: { id: m.id }, data: { enabled: false } });
    const res2 = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress: uniqueIp(),
      payload: { email: address, password },
    });
    expect(res2.json().code).toBe('MAILBOX_DISABLED');
  });

  test('a new session id at every login; the previous cookie is invalidated', async () => {
    const owner = await createUser(t);
    const first = await login(t.app, owner.email, owner.password);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { cookie: first.cookie },
      payload: { email: owner.email, password: owner.password },
    });
    const second = res.cookies.find((c) => c.name === 'mailroom_session')!.value;
    expect(`mailroom_session=${second}`).not.toBe(first.cookie);
    expect((await call(t.app, first, 'GET', '/api/v1/me')).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: `mailroom_session=${second}` } })).statusCode).toBe(
      200,
    );
  });

  test('missing fields are 400 VALIDATION_FAILED', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'a@b.example' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].path).toBe('body.password');
  });
});

describe('sessions, CSRF, logout', () => {
  test('unsafe methods with the cookie need the CSRF header', async () => {
    const owner = await createUser(t);
    const s = await login(t.app, owner.email, owner.password);
    const name = `${uniqueName('d')}.example`;
    const missing = await t.app.inject({ method: 'POST', url: '/api/v1/domains', headers: { cookie: s.cookie }, payload: { name } });
    expect(missing.statusCode).toBe(403);
    expect(missing.json().code).toBe('CSRF_FAILED');
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/v1/domains',
      headers: { cookie: s.cookie, 'x-csrf-token': 'nope' },
      payload: { name },
    });
    expect(wrong.json().code).toBe('CSRF_FAILED');
    const ok = await call(t.app, s, 'POST', '/api/v1/domains', { name });
    expect(ok.statusCode).toBe(201);
    // GET /me hands the same token back (e.g. after a page reload).
    expect((await call(t.app, s, 'GET', '/api/v1/me')).json().csrfToken).toBe(s.csrf);
  });

  test('logout deletes the session; the cookie stops working', async () => {
    const owner = await createUser(t);
    const s = await login(t.app, owner.email, owner.password);
    const out = await call(t.app, s, 'POST', '/api/v1/auth/logout');
    expect(out.statusCode).toBe(204);
    expect(out.cookies.find((c) => c.name === 'mailroom_session')?.value).toBe('');
    expect((await call(t.app, s, 'GET', '/api/v1/me')).statusCode).toBe(401);
    expect(await t.prisma.session.count({ where: { userId: owner.id } })).toBe(0);
  });

  test('no credentials: 401 UNAUTHENTICATED; a malformed or unknown bearer key: 401', async () => {
    expect((await t.app.inject('/api/v1/me')).json().code).toBe('UNAUTHENTICATED');
    expect((await t.app.inject({ url: '/api/v1/me', headers: { authorization: 'Basic abc' } })).statusCode).toBe(401);
    expect(
      (await t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer mr_aaaaaaaaaaaa_${'x'.repeat(43)}` } })).statusCode,
    ).toBe(401);
  });

  test('an expired session is not a credential', async () => {
    const owner = await createUser(t);
    const s = await login(t.app, owner.email, owner.password);
    await t.prisma.session.updateMany({ where: { userId: owner.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await call(t.app, s, 'GET', '/api/v1/me')).statusCode).toBe(401);
  });
});

describe('GET /me', () => {
  test('with an API key: the user, its scopes, no CSRF token', async () => {
    const owner = await createUser(t, { maxDomains: 3 });
    const key = await createKey(t.prisma, owner.id, ['domains:read']);
    const me = await call(t.app, { key }, 'GET', '/api/v1/me');
    expect(me.json()).toMatchObject({
      kind: 'user',
      authMethod: 'apiKey',
      scopes: ['domains:read'],
      csrfToken: null,
      user: { maxDomains: 3, usage: { domains: 0 } },
      passwordPolicy: { minLength: 10 },
    });
  });
});

describe('PUT /me/password', () => {
  test('owner changes their password; other sessions end; the new password works', async () => {
    const owner = await createUser(t);
    const a = await login(t.app, owner.email, owner.password);
    const b = await login(t.app, owner.email, owner.password);
    const res = await call(t.app, a, 'PUT', '/api/v1/me/password', {
      currentPassword: owner.password,
      newPassword: 'a fresh new passphrase 7',
    });
    expect(res.statusCode).toBe(204);
    expect((await call(t.app, a, 'GET', '/api/v1/me')).statusCode).toBe(200);
    expect((await call(t.app, b, 'GET', '/api/v1/me')).statusCode).toBe(401);
    await login(t.app, owner.email, 'a fresh new passphrase 7');
  });

  test('mailbox user changes their password', async () => {
    const owner = await createUser(t);
    const { address, password } = await mailbox(owner.id);
    const s = await login(t.app, address, password);
    expect(
      (await call(t.app, s, 'PUT', '/api/v1/me/password', { currentPassword: password, newPassword: 'mailbox passphrase 99' })).statusCode,
    ).toBe(204);
    await login(t.app, address, 'mailbox passphrase 99');
  });

  test('wrong current password: 400 on currentPassword; weak new password: 422 PASSWORD_TOO_WEAK; API key: 403', async () => {
    const owner = await createUser(t);
    const s = await login(t.app, owner.email, owner.password);
    const wrong = await call(t.app, s, 'PUT', '/api/v1/me/password', {
      currentPassword: 'not it at all',
      newPassword: 'a fresh new passphrase 7',
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().errors[0].path).toBe('currentPassword');
    const weak = await call(t.app, s, 'PUT', '/api/v1/me/password', { currentPassword: owner.password, newPassword: 'password123' });
    expect(weak.statusCode).toBe(422);
    expect(weak.json()).toMatchObject({ code: 'PASSWORD_TOO_WEAK', errors: [{ path: 'newPassword', code: 'too_common' }] });
    const short = await call(t.app, s, 'PUT', '/api/v1/me/password', { currentPassword: owner.password, newPassword: 'x7$kq' });
    expect(short.json().errors[0].code).toBe('too_short');
    const key = await createKey(t.prisma, owner.id, ['domains:write']);
    expect(
      (
        await call(t.app, { key }, 'PUT', '/api/v1/me/password', {
          currentPassword: owner.password,
          newPassword: 'a fresh new passphrase 7',
        })
      ).statusCode,
    ).toBe(403);
  });
});
