import { describeUserAgent } from '@mailroom/core';
import { eventually } from '@mailroom/runtime/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createKey, createTestApp, createUser, type Session, type TestContext } from '../testing.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

async function signIn(email: string, password: string, ip: string, ua: string): Promise<Session & { status: number }> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email, password },
    remoteAddress: ip,
    headers: { 'user-agent': ua },
  });
  const set = res.cookies.find((c) => c.name === 'mailroom_session');
  return { status: res.statusCode, cookie: `mailroom_session=${set?.value}`, csrf: res.json().csrfToken };
}

const me = async (s: Session) => (await call(t.app, s, 'GET', '/api/v1/me')).statusCode;

describe('sessions', () => {
  test('lists the own sessions with device, address and times; revokes one; revoke-others keeps the current one', async () => {
    const u = await createUser(t);
    const a = await signIn(u.email, u.password, '203.0.113.7', FIREFOX);
    const b = await signIn(u.email, u.password, '198.51.100.9', IPHONE);
    const c = await signIn(u.email, u.password, '192.0.2.1', 'curl/8.5.0');
    const listed = await call(t.app, a, 'GET', '/api/v1/auth/sessions');
    expect(listed.statusCode, listed.body).toBe(200);
    const items = listed.json().items as {
      id: string;
      current: boolean;
      device: string;
      ip: string;
      lastSeenAt: string;
      createdAt: string;
    }[];
    expect(items).toHaveLength(3);
    const current = items.find((i) => i.current)!;
    expect(current).toMatchObject({ device: 'Firefox 128 on Linux', ip: '203.0.113.7' });
    expect(items.map((i) => i.device).sort()).toEqual(['Firefox 128 on Linux', 'Safari 17 on iOS', 'curl 8']);
    const phone = items.find((i) => i.ip === '198.51.100.9')!;
    expect((await call(t.app, a, 'DELETE', `/api/v1/auth/sessions/${phone.id}`)).statusCode).toBe(204);
    expect(await me(b)).toBe(401);
    expect(await me(c)).toBe(200);
    const others = await call(t.app, a, 'POST', '/api/v1/auth/sessions/revoke-others');
    expect(others.json()).toEqual({ revoked: 1 });
    expect(await me(c)).toBe(401);
    expect(await me(a)).toBe(200);
    const actions = (await t.prisma.auditEvent.findMany({ where: { actorId: u.id, action: { startsWith: 'session.' } } }))
      .map((e) => e.action)
      .sort();
    expect(actions).toEqual(['session.revoke', 'session.revoke-others']);
  });

  test('a mailbox user lists and revokes their own sessions', async () => {
    const o = await createUser(t);
    const d = await t.prisma.domain.create({ data: { name: `${o.id.slice(-12)}.example`, ownerId: o.id, verifiedAt: new Date() } });
    const m = await t.prisma.mailbox.create({
      data: { domainId: d.id, localPart: 'ann', passwordHash: await t.hasher.hash('mailbox pass 1') },
    });
    const address = `ann@${d.name}`;
    const a = await signIn(address, 'mailbox pass 1', '203.0.113.8', FIREFOX);
    const b = await signIn(address, 'mailbox pass 1', '203.0.113.9', IPHONE);
    const items = (await call(t.app, a, 'GET', '/api/v1/auth/sessions')).json().items;
    expect(items).toHaveLength(2);
    expect((await call(t.app, a, 'POST', '/api/v1/auth/sessions/revoke-others')).json()).toEqual({ revoked: 1 });
    expect(await me(b)).toBe(401);
    expect(await t.prisma.session.count({ where: { mailboxId: m.id } })).toBe(1);
  });

  test('last seen is written at most once a minute', async () => {
    const u = await createUser(t);
    const a = await signIn(u.email, u.password, '203.0.113.10', FIREFOX);
    const row = await t.prisma.session.findFirstOrThrow({ where: { userId: u.id } });
    await me(a);
    expect((await t.prisma.session.findUniqueOrThrow({ where: { id: row.id } })).lastSeenAt).toEqual(row.lastSeenAt);
    const old = new Date(Date.now() - 61_000);
    await t.prisma.session.update({ where: { id: row.id }, data: { lastSeenAt: old } });
    await me(a);
    await eventually(async () => (await t.prisma.session.findUniqueOrThrow({ where: { id: row.id } })).lastSeenAt > old);
  });

  test('device labels are read simply from the User-Agent', () => {
    expect(
      describeUserAgent(
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
      ),
    ).toBe('Edge 126 on Windows');
    expect(
      describeUserAgent(
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
      ),
    ).toBe('Chrome 126 on macOS');
    expect(
      describeUserAgent(
        'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
      ),
    ).toBe('Chrome 126 on Android');
    expect(describeUserAgent(null)).toBe('Unknown device');
  });
});

describe('sessions: abuse', () => {
  test("revoking another user's session id is 404 and leaves it alive; an API key cannot manage sessions (403)", async () => {
    const u = await createUser(t);
    const v = await createUser(t);
    const a = await signIn(u.email, u.password, '203.0.113.11', FIREFOX);
    const victim = await signIn(v.email, v.password, '203.0.113.12', FIREFOX);
    const victimId = (await call(t.app, victim, 'GET', '/api/v1/auth/sessions')).json().items[0].id;
    const res = await call(t.app, a, 'DELETE', `/api/v1/auth/sessions/${victimId}`);
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('NOT_FOUND');
    expect((await call(t.app, a, 'GET', '/api/v1/auth/sessions')).json().items.map((i: { id: string }) => i.id)).not.toContain(victimId);
    await call(t.app, a, 'POST', '/api/v1/auth/sessions/revoke-others');
    expect(await me(victim)).toBe(200);
    const key = { key: await createKey(t.prisma, u.id, ['api-keys:write', 'domains:write']) };
    expect((await call(t.app, key, 'GET', '/api/v1/auth/sessions')).statusCode).toBe(403);
    expect((await call(t.app, key, 'POST', '/api/v1/auth/sessions/revoke-others')).statusCode).toBe(403);
    expect((await call(t.app, key, 'DELETE', `/api/v1/auth/sessions/${victimId}`)).statusCode).toBe(403);
    // Without the CSRF header a cookie cannot revoke anything.
    const noCsrf = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sessions/revoke-others', headers: { cookie: a.cookie } });
    expect(noCsrf.statusCode).toBe(403);
    expect(await me(victim)).toBe(200);
  });
});
