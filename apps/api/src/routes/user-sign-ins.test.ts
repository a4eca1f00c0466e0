// GET /auth/sign-ins and GET /owners/{id}/sign-ins: a panel user's sign-in log, written by the real sign-in endpoints
// (the second step's and passkeys' entries are asserted beside those features, in second-factor.test.ts and
// passkeys.test.ts).
import { recordSecondFactorRefused, recordUserSignIn } from '@mailroom/core';
import { newId } from '@mailroom/db';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createKey, createTestApp, createUser, login, type Session, type TestContext, uniqueName } from '../testing.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const SAFARI_IOS =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

function panelLogin(email: string, password: string, ip: string, ua = CHROME, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email, password },
    remoteAddress: ip,
    headers: { 'user-agent': ua, ...headers },
  });
}

function sessionOf(res: { cookies: { name: string; value: string }[]; json(): { csrfToken: string } }): Session {
  const c = res.cookies.find((x) => x.name === 'mailroom_session')!;
  return { cookie: `mailroom_session=${c.value}`, csrf: res.json().csrfToken };
}

type Entry = { result: string; mechanism: string; clientAddress: string; device: string | null; attempts: number; userId: string };
const own = (s: Session | { key: string } | null, q = '') => call(t.app, s, 'GET', `/api/v1/auth/sign-ins${q}`);
const ofOwner = (s: Session | { key: string } | null, id: string, q = '') => call(t.app, s, 'GET', `/api/v1/owners/${id}/sign-ins${q}`);

describe('panel users’ sign-in log', () => {
  test('every password step of an owner is logged and listed to them newest first, with the browser, grouped and filtered', async () => {
    const u = await createUser(t);
    expect((await panelLogin(u.email, 'not the password at all', '198.18.1.60')).statusCode).toBe(401);
    expect((await panelLogin(u.email, 'not the password at all', '198.18.1.60')).statusCode).toBe(401);
    // a forged X-Forwarded-For from a client that is no trusted proxy: the peer is logged
    const forged = await panelLogin(u.email, 'another wrong one', '198.18.1.61', CHROME, { 'x-forwarded-for': '198.51.100.77' });
    expect(forged.statusCode).toBe(401);
    const ok = await panelLogin(u.email, u.password, '198.18.1.62', SAFARI_IOS);
    expect(ok.statusCode).toBe(200);
    const s = sessionOf(ok);
    // an unknown email of the same shape: the same 401, and no entry for anyone
    expect((await panelLogin(`nobody-${u.email}`, u.password, '198.18.1.63')).statusCode).toBe(401);
    expect(await t.prisma.userSignIn.count({ where: { clientAddress: { in: ['198.18.1.63', '198.51.100.77'] } } })).toBe(0);

    const res = await own(s);
    expect(res.statusCode, res.body).toBe(200);
    const items = res.json().items as Entry[];
    expect(items.map((r) => [r.result, r.mechanism, r.clientAddress, r.device, r.attempts])).toEqual([
      ['ok', 'password', '198.18.1.62', 'Safari 17 on iOS', 1],
      ['wrong_password', 'password', '198.18.1.61', 'Chrome 131 on Windows', 1],
      ['wrong_password', 'password', '198.18.1.60', 'Chrome 131 on Windows', 2],
    ]);
    expect(items.every((r) => r.userId === u.id)).toBe(true);
    expect(res.body).not.toContain('Mozilla/5.0'); // the raw User-Agent is not handed out, only what it names
    expect((await own(s, '?result=failed')).json().items).toHaveLength(2);
    expect((await own(s, '?result=ok')).json().items).toHaveLength(1);
    const p1 = (await own(s, '?limit=2')).json();
    const p2 = (await own(s, `?limit=2&cursor=${p1.nextCursor}`)).json();
    expect([...p1.items, ...p2.items].map((r: { id: string }) => r.id)).toEqual(items.map((r) => (r as unknown as { id: string }).id));
    expect(p2.nextCursor).toBeNull();
    const future = new Date(Date.now() + 86_400_000).toISOString();
    expect((await own(s, `?from=${future}`)).json().items).toEqual([]);
  });

  test('a disabled account with the right password is logged as disabled; with a wrong one, as a wrong password', async () => {
    const u = await createUser(t);
    await t.prisma.user.update({ where: { id: u.id }, data: { disabled: true } });
    expect((await panelLogin(u.email, u.password, '198.18.2.70')).statusCode).toBe(403);
    expect((await panelLogin(u.email, 'wrong for a disabled one', '198.18.2.70')).statusCode).toBe(401);
    // a wrong password's entry is written after the answer (below): it arrives shortly after
    await expect
      .poll(async () => (await t.prisma.userSignIn.findMany({ where: { userId: u.id }, orderBy: { id: 'asc' } })).map((r) => r.result))
      .toEqual(['disabled', 'wrong_password']);
  });

  test('a wrong password is answered without waiting for its entry (no timing difference from an unknown email)', async () => {
    const u = await createUser(t);
    // the log's table locked: a write to it waits; the 401 must not
    await t.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`LOCK TABLE user_sign_ins IN EXCLUSIVE MODE`;
      expect((await panelLogin(u.email, 'not the password at all', '198.18.3.71')).statusCode).toBe(401);
      expect(await tx.userSignIn.count({ where: { userId: u.id } })).toBe(0);
    });
    await expect.poll(() => t.prisma.userSignIn.count({ where: { userId: u.id, result: 'wrong_password' } })).toBe(1);
  });

  test('admins read an owner’s log; nobody else reads anyone’s; sessions only for one’s own; bad input is 400', async () => {
    const a = await createUser(t);
    const b = await createUser(t);
    const admin = await createUser(t, { role: 'ADMIN' });
    const aSession = await login(t.app, a.email, a.password, '198.18.4.80');
    const bSession = await login(t.app, b.email, b.password, '198.18.4.81');
    const adminSession = await login(t.app, admin.email, admin.password, '198.18.4.82');
    expect((await panelLogin(a.email, 'a guess at a’s password', '198.18.4.83')).statusCode).toBe(401);

    // the admin, by session or by a key with owners:read
    await expect.poll(() => t.prisma.userSignIn.count({ where: { userId: a.id, result: 'wrong_password' } })).toBe(1);
    const byAdmin = await ofOwner(adminSession, a.id);
    expect(byAdmin.statusCode, byAdmin.body).toBe(200);
    expect(byAdmin.json().items.map((r: Entry) => r.result)).toEqual(['wrong_password', 'ok']);
    expect((await ofOwner({ key: await createKey(t.prisma, admin.id, ['owners:read']) }, a.id)).statusCode).toBe(200);
    // not with another scope (a key restricted to domains cannot carry owners:*), nor for an admin's id (no owner) or
    // an unknown one
    expect((await ofOwner({ key: await createKey(t.prisma, admin.id, ['domains:read']) }, a.id)).statusCode).toBe(403);
    const domain = await t.prisma.domain.create({ data: { name: `${uniqueName('usi')}.example`, ownerId: a.id, verifiedAt: new Date() } });
    expect((await ofOwner({ key: await createKey(t.prisma, admin.id, ['mailboxes:read'], [domain.id]) }, a.id)).statusCode).toBe(403);
    expect((await ofOwner(adminSession, admin.id)).statusCode).toBe(404);
    expect((await ofOwner(adminSession, newId())).statusCode).toBe(404);
    // owners: not B's log, not even their own through the admin route (theirs is /auth/sign-ins)
    expect((await ofOwner(aSession, b.id)).statusCode).toBe(403);
    expect((await ofOwner(aSession, a.id)).statusCode).toBe(403);
    // /auth/sign-ins is the caller's own: B's list holds none of A's entries
    const bList = (await own(bSession)).json().items as Entry[];
    expect(bList.map((r) => r.userId)).toEqual([b.id]);
    expect((await own(adminSession)).json().items.map((r: Entry) => r.userId)).toEqual([admin.id]);
    // an API key (even the owner's full one) is no sign-in: 403; nobody at all: 401
    expect((await own({ key: await createKey(t.prisma, a.id, ['domains:write', 'mailboxes:write']) })).statusCode).toBe(403);
    expect((await own(null)).statusCode).toBe(401);
    // a mailbox user reads their mailbox's log instead
    const m = await t.prisma.mailbox.create({
      data: { id: newId(), domainId: domain.id, localPart: 'me', passwordHash: await t.hasher.hash(a.password) },
    });
    const mailboxSession = await login(t.app, `me@${domain.name}`, a.password, '198.18.4.84');
    const refused = await own(mailboxSession);
    expect([refused.statusCode, refused.json().code]).toEqual([403, 'FORBIDDEN']);
    expect((await ofOwner(mailboxSession, a.id)).statusCode).toBe(403);
    expect(await t.prisma.mailboxSignIn.count({ where: { mailboxId: m.id, result: 'ok', service: 'panel' } })).toBe(1);
    // odd input: a 4xx with a stable code, never a 5xx
    for (const q of [
      '?result=nope',
      '?limit=0',
      '?cursor=zzz',
      '?from=yesterday',
      `?from=${new Date().toISOString()}&to=2020-01-01T00:00:00Z`,
    ]) {
      for (const r of [await own(aSession, q), await ofOwner(adminSession, a.id, q)]) {
        expect(r.statusCode, q).toBe(400);
        expect(r.json().code, q).toBe('VALIDATION_FAILED');
      }
    }
    expect((await ofOwner(adminSession, 'not-a-uuid')).statusCode).toBe(400);
  });

  test('identical attempts within a day share an entry; another browser, address or day starts a new one; deleting the owner takes the log', async () => {
    const u = await createUser(t);
    const base = { userId: u.id, result: 'wrong_password' as const, mechanism: 'password' as const, clientAddress: '198.18.5.90' };
    const dayAgo = new Date(Date.now() - 86_400_000 - 60_000);
    await t.prisma.userSignIn.create({
      data: { id: newId(dayAgo), createdAt: dayAgo, lastAt: dayAgo, ...base, userAgent: CHROME, attempts: 9 },
    });
    for (let i = 0; i < 3; i++) await recordUserSignIn(t.prisma, { ...base, userAgent: CHROME });
    await recordUserSignIn(t.prisma, { ...base, userAgent: SAFARI_IOS });
    await recordUserSignIn(t.prisma, { ...base, userAgent: CHROME, clientAddress: '198.18.5.91' });
    await recordUserSignIn(t.prisma, { ...base, userAgent: CHROME, result: 'ok' });
    // a very long User-Agent is cut, and still groups with itself
    for (let i = 0; i < 2; i++) await recordUserSignIn(t.prisma, { ...base, userAgent: `${CHROME} ${'x'.repeat(5000)}` });
    const rows = await t.prisma.userSignIn.findMany({ where: { userId: u.id }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => [r.result, r.clientAddress, r.userAgent?.length, r.attempts])).toEqual([
      ['wrong_password', '198.18.5.90', CHROME.length, 9],
      ['wrong_password', '198.18.5.90', CHROME.length, 3],
      ['wrong_password', '198.18.5.90', SAFARI_IOS.length, 1],
      ['wrong_password', '198.18.5.91', CHROME.length, 1],
      ['ok', '198.18.5.90', CHROME.length, 1],
      ['wrong_password', '198.18.5.90', 300, 2],
    ]);
    // never into another user's entries
    const v = await createUser(t);
    await recordUserSignIn(t.prisma, { ...base, userId: v.id, userAgent: CHROME });
    expect(await t.prisma.userSignIn.count({ where: { userId: v.id } })).toBe(1);
    const admin = await createUser(t, { role: 'ADMIN' });
    const del = await call(t.app, { key: await createKey(t.prisma, admin.id, ['owners:write']) }, 'DELETE', `/api/v1/owners/${u.id}`);
    expect(del.statusCode, del.body).toBe(204);
    expect(await t.prisma.userSignIn.count({ where: { userId: u.id } })).toBe(0);
  });
});

describe('password warnings: accounts whose password someone else entered', () => {
  const warned = async (creds: Session | { key: string } | null) => {
    const r = await call(t.app, creds, 'GET', '/api/v1/password-warnings');
    return { status: r.statusCode, ids: r.statusCode === 200 ? (r.json().items as { id: string }[]).map((i) => i.id) : [], body: r };
  };

  test('owners see their mailboxes, admins every account; a password change or 30 days take it off; nobody else sees it', async () => {
    const a = await createUser(t);
    const b = await createUser(t);
    const admin = await createUser(t, { role: 'ADMIN' });
    const otherAdmin = await createUser(t, { role: 'ADMIN' });
    const aSession = await login(t.app, a.email, a.password, '198.18.6.1');
    const bSession = await login(t.app, b.email, b.password, '198.18.6.2');
    const adminSession = await login(t.app, admin.email, admin.password, '198.18.6.3');
    const domain = await t.prisma.domain.create({ data: { name: `${uniqueName('pw')}.example`, ownerId: a.id, verifiedAt: new Date() } });
    const other = await t.prisma.domain.create({ data: { name: `${uniqueName('pw2')}.example`, ownerId: a.id, verifiedAt: new Date() } });
    const mailbox = (localPart: string) =>
      t.prisma.mailbox.create({ data: { id: newId(), domainId: domain.id, localPart, passwordHash: 'x' }, select: { id: true } });
    const m1 = await mailbox('known');
    const m2 = await mailbox('old');
    const quiet = await mailbox('quiet');
    const step = { mechanism: 'totp' as const, ip: '203.0.113.99', userAgent: CHROME };
    await recordSecondFactorRefused(t.prisma, { kind: 'mailbox', mailboxId: m1.id }, step);
    await recordSecondFactorRefused(t.prisma, { kind: 'mailbox', mailboxId: m1.id }, step); // counted in the same entry
    await recordSecondFactorRefused(t.prisma, { kind: 'user', userId: a.id }, { ...step, mechanism: 'recovery' });
    await recordSecondFactorRefused(t.prisma, { kind: 'user', userId: otherAdmin.id }, step);
    // a refusal 31 days old is no longer a warning
    const old = new Date(Date.now() - 31 * 86_400_000);
    await t.prisma.mailboxSignIn.create({
      data: {
        id: newId(old),
        createdAt: old,
        lastAt: old,
        mailboxId: m2.id,
        service: 'panel',
        result: 'wrong_second_factor',
        clientAddress: '203.0.113.98',
        mechanism: 'totp',
      },
    });
    // a wrong password is no warning
    await recordUserSignIn(t.prisma, { userId: b.id, result: 'wrong_password', clientAddress: '203.0.113.97', mechanism: 'password' });

    const byOwner = await warned(aSession);
    expect(byOwner.status).toBe(200);
    expect(byOwner.ids).toEqual([m1.id]); // their mailbox; not m2 (too old), not quiet, not users (their own is on the Account page)
    expect(byOwner.body.json().items[0]).toMatchObject({
      kind: 'mailbox',
      name: `known@${domain.name}`,
      domainId: domain.id,
      role: null,
      clientAddress: '203.0.113.99',
      mechanism: 'totp',
      attempts: 2,
    });
    const byAdmin = await warned(adminSession);
    expect(byAdmin.ids).toEqual(expect.arrayContaining([m1.id, a.id, otherAdmin.id]));
    expect(byAdmin.ids).not.toContain(m2.id);
    expect(byAdmin.ids).not.toContain(b.id);
    expect(byAdmin.ids).not.toContain(quiet.id);
    const items = byAdmin.body.json().items as { lastAt: string; kind: string; id: string; role: string | null }[];
    expect(items.map((i) => i.lastAt)).toEqual([...items.map((i) => i.lastAt)].sort().reverse()); // newest first
    expect(items.find((i) => i.id === a.id)).toMatchObject({ kind: 'user', role: 'OWNER' });
    expect(items.find((i) => i.id === otherAdmin.id)).toMatchObject({ kind: 'user', role: 'ADMIN' });

    // other tenants, keys without the scopes or restricted elsewhere, mailbox users, nobody
    expect((await warned(bSession)).ids).not.toContain(m1.id);
    const mailboxesOnly = await warned({ key: await createKey(t.prisma, admin.id, ['mailboxes:read']) });
    expect(mailboxesOnly.ids).toContain(m1.id);
    expect(mailboxesOnly.ids).not.toContain(a.id); // users need owners:read
    expect((await warned({ key: await createKey(t.prisma, admin.id, ['mailboxes:read', 'owners:read']) })).ids).toContain(a.id);
    expect((await warned({ key: await createKey(t.prisma, admin.id, ['domains:read']) })).status).toBe(403);
    expect((await warned({ key: await createKey(t.prisma, a.id, ['mailboxes:read'], [other.id]) })).ids).toEqual([]);
    expect((await warned({ key: await createKey(t.prisma, a.id, ['mailboxes:read'], [domain.id]) })).ids).toEqual([m1.id]);
    await t.prisma.mailbox.update({ where: { id: quiet.id }, data: { passwordHash: await t.hasher.hash(a.password) } });
    const mailboxUser = await login(t.app, `quiet@${domain.name}`, a.password, '198.18.6.4');
    expect((await warned(mailboxUser)).status).toBe(403);
    expect((await warned(null)).status).toBe(401);

    // changing the password ends the warning: the mailbox's by its owner, the owner's by an admin's reset
    expect(
      (await call(t.app, aSession, 'PUT', `/api/v1/mailboxes/${m1.id}/password`, { password: 'a brand new passphrase 1' })).statusCode,
    ).toBe(204);
    expect((await warned(aSession)).ids).toEqual([]);
    const reset = await call(t.app, adminSession, 'PATCH', `/api/v1/owners/${a.id}`, { password: 'another new passphrase 2' });
    expect(reset.statusCode, reset.body).toBe(200);
    const after = await warned(adminSession);
    expect(after.ids).not.toContain(m1.id);
    expect(after.ids).not.toContain(a.id);
    expect(after.ids).toContain(otherAdmin.id);
  });
});
