import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createTestAppWithAdmin, createUser, login, type Session, type TestContext, uniqueName } from '../testing.ts';

let t: TestContext;
let admin: Session;
beforeAll(async () => ({ t, admin } = await createTestAppWithAdmin()));
afterAll(async () => t?.close());

const PW = 'mailbox passphrase 1';

async function ownerWithDomain(limits: { maxMailboxes?: number; maxStorageBytes?: bigint } = {}, domain: Record<string, unknown> = {}) {
  const o = await createUser(t, limits);
  const s = await login(t.app, o.email, o.password);
  const d = await call(t.app, admin, 'POST', '/api/v1/domains', {
    name: `${uniqueName('d')}.example`,
    ownerId: o.id,
    verified: true,
    ...domain,
  });
  expect(d.statusCode, d.body).toBe(201);
  return { owner: o, s, domain: d.json() as { id: string; name: string } };
}

describe('mailboxes', () => {
  test('create: lowercase local part, address, default quota from the domain, byte counts as JSON numbers; the password is never returned', async () => {
    const { s, domain } = await ownerWithDomain({}, { defaultQuotaBytes: 5_000_000_000 });
    const res = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, {
      localPart: 'John.Doe',
      password: PW,
      displayName: 'John',
    });
    expect(res.statusCode, res.body).toBe(201);
    const m = res.json();
    expect(m).toMatchObject({
      localPart: 'john.doe',
      address: `john.doe@${domain.name}`,
      domain: domain.name,
      displayName: 'John',
      quotaBytes: 5_000_000_000,
      usedBytes: 0,
      messageCount: 0,
      enabled: true,
      lastLoginAt: null,
    });
    expect(JSON.stringify(m)).not.toContain(PW);
    expect(res.body).not.toMatch(/passwordHash|argon2/);
    const row = await t.prisma.mailbox.findUniqueOrThrow({ where: { id: m.id } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    // The mailbox user signs in with the full address.
    await login(t.app, m.address, PW);
  });

  test('case-insensitive uniqueness: 409 ALREADY_EXISTS on localPart', async () => {
    const { s, domain } = await ownerWithDomain();
    await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'info', password: PW });
    const dup = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'INFO', password: PW });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: 'ALREADY_EXISTS', errors: [{ path: 'localPart' }] });
  });

  test('invalid local parts are 400 on localPart', async () => {
    const { s, domain } = await ownerWithDomain();
    for (const localPart of ['a b', '.lead', 'trail.', 'dou..ble', 'x'.repeat(65), 'quo"te', 'at@sign', '']) {
      const res = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart, password: PW });
      expect(res.statusCode, localPart).toBe(400);
      expect(res.json().errors[0].path).toMatch(/localPart$/);
    }
  });

  test('password policy: too short, common, or the address itself → 422 PASSWORD_TOO_WEAK on password', async () => {
    const { s, domain } = await ownerWithDomain();
    for (const [password, code] of [
      ['short1', 'too_short'],
      ['iloveyou123', 'too_common'],
      ['Password1!', 'too_common'],
      ['sales2026x', 'contains_account'],
    ] as const) {
      const res = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'sales', password });
      expect(res.statusCode, password).toBe(422);
      expect(res.json().code).toBe('PASSWORD_TOO_WEAK');
      expect(
        res.json().errors.map((e: { code: string }) => e.code),
        password,
      ).toContain(code);
    }
  });

  test('LIMIT_MAILBOXES_EXCEEDED per owner and per domain', async () => {
    const { s, domain } = await ownerWithDomain({ maxMailboxes: 1 });
    expect((await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'one', password: PW })).statusCode).toBe(
      201,
    );
    const over = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'two', password: PW });
    expect(over.statusCode).toBe(422);
    expect(over.json()).toMatchObject({ code: 'LIMIT_MAILBOXES_EXCEEDED', details: { scope: 'owner', limit: 1 } });
    const d2 = await ownerWithDomain({}, { maxMailboxes: 1 });
    await call(t.app, d2.s, 'POST', `/api/v1/domains/${d2.domain.id}/mailboxes`, { localPart: 'one', password: PW });
    const over2 = await call(t.app, d2.s, 'POST', `/api/v1/domains/${d2.domain.id}/mailboxes`, { localPart: 'two', password: PW });
    expect(over2.json()).toMatchObject({ code: 'LIMIT_MAILBOXES_EXCEEDED', details: { scope: 'domain' } });
  });

  test('limits hold under concurrent creations: exactly the allowed number succeed', async () => {
    const { s, domain } = await ownerWithDomain({ maxMailboxes: 2 });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: `racer${i}`, password: PW }),
      ),
    );
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([201, 201, 422, 422, 422, 422]);
    expect(await t.prisma.mailbox.count({ where: { domainId: domain.id } })).toBe(2);
  });

  test('issue 10, attack 5: under an owner or domain storage limit an unlimited mailbox is refused (QUOTA_REQUIRED)', async () => {
    // The attack: an owner limited to 1 MB creates a mailbox with quotaBytes: null (or no quota and no domain default).
    const { s, domain } = await ownerWithDomain({ maxStorageBytes: 1_000_000n });
    for (const body of [{ quotaBytes: null }, {}]) {
      const res = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, {
        localPart: uniqueName('u'),
        password: PW,
        ...body,
      });
      expect(res.statusCode, JSON.stringify(body)).toBe(422);
      expect(res.json()).toMatchObject({
        code: 'QUOTA_REQUIRED',
        details: { scope: 'owner', limitBytes: 1_000_000 },
        errors: [{ path: 'quotaBytes', code: 'required_under_limit' }],
      });
    }
    expect(await t.prisma.mailbox.count({ where: { domainId: domain.id } })).toBe(0);
    // A finite quota is fine; turning it into "unlimited" later is refused too.
    const m = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, {
      localPart: 'fits',
      password: PW,
      quotaBytes: 1_000_000,
    });
    expect(m.statusCode, m.body).toBe(201);
    const unlimit = await call(t.app, s, 'PATCH', `/api/v1/mailboxes/${m.json().id}`, { quotaBytes: null });
    expect(unlimit.json().code).toBe('QUOTA_REQUIRED');
    expect((await t.prisma.mailbox.findUniqueOrThrow({ where: { id: m.json().id } })).quotaBytes).toBe(1_000_000n);
    // Under a domain limit the domain's default quota is given when none is named.
    const d = await ownerWithDomain({}, { maxStorageBytes: 1000, defaultQuotaBytes: 400 });
    const dflt = await call(t.app, d.s, 'POST', `/api/v1/domains/${d.domain.id}/mailboxes`, { localPart: 'x', password: PW });
    expect(dflt.json()).toMatchObject({ quotaBytes: 400 });
    const explicitNull = await call(t.app, d.s, 'POST', `/api/v1/domains/${d.domain.id}/mailboxes`, {
      localPart: 'y',
      password: PW,
      quotaBytes: null,
    });
    expect(explicitNull.json()).toMatchObject({ code: 'QUOTA_REQUIRED', details: { scope: 'domain' } });
    // Without any limit, unlimited mailboxes stay allowed.
    const free = await ownerWithDomain();
    expect(
      (
        await call(t.app, free.s, 'POST', `/api/v1/domains/${free.domain.id}/mailboxes`, { localPart: 'z', password: PW, quotaBytes: null })
      ).json().quotaBytes,
    ).toBeNull();
  });

  test('a storage limit cannot be set below what is handed out: domain and owner limits (QUOTA_REQUIRED / LIMIT_STORAGE_EXCEEDED)', async () => {
    const { owner: o, s, domain } = await ownerWithDomain();
    const a = (
      await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'a', password: PW, quotaBytes: 600 })
    ).json();
    const b = (
      await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'b', password: PW, quotaBytes: null })
    ).json();
    for (const [url, path] of [
      [`/api/v1/domains/${domain.id}`, 'domain'],
      [`/api/v1/owners/${o.id}`, 'owner'],
    ] as const) {
      const noQuota = await call(t.app, admin, 'PATCH', url, { maxStorageBytes: 10_000 });
      expect(noQuota.statusCode, `${path}: ${noQuota.body}`).toBe(422);
      expect(noQuota.json()).toMatchObject({
        code: 'QUOTA_REQUIRED',
        details: { scope: path, mailboxesWithoutQuota: 1, mailboxes: [b.address] },
        errors: [{ path: 'maxStorageBytes' }],
      });
    }
    await call(t.app, s, 'PATCH', `/api/v1/mailboxes/${b.id}`, { quotaBytes: 300 });
    for (const [url, path] of [
      [`/api/v1/domains/${domain.id}`, 'domain'],
      [`/api/v1/owners/${o.id}`, 'owner'],
    ] as const) {
      const below = await call(t.app, admin, 'PATCH', url, { maxStorageBytes: 899 });
      expect(below.json(), path).toMatchObject({
        code: 'LIMIT_STORAGE_EXCEEDED',
        details: { scope: path, limitBytes: 899, allocatedBytes: 900 },
      });
      const exact = await call(t.app, admin, 'PATCH', url, { maxStorageBytes: 900 });
      expect(exact.statusCode, exact.body).toBe(200);
    }
    expect((await call(t.app, s, 'PATCH', `/api/v1/mailboxes/${a.id}`, { quotaBytes: 601 })).json().code).toBe('LIMIT_STORAGE_EXCEEDED');
    // Lifting a limit (null) always works.
    expect((await call(t.app, admin, 'PATCH', `/api/v1/owners/${o.id}`, { maxStorageBytes: null })).statusCode).toBe(200);
  });

  test('LIMIT_STORAGE_EXCEEDED when quotas would exceed the owner or domain storage limit (create and update)', async () => {
    const { s, domain } = await ownerWithDomain({ maxStorageBytes: 1000n });
    const a = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'a', password: PW, quotaBytes: 600 });
    expect(a.statusCode).toBe(201);
    const b = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'b', password: PW, quotaBytes: 500 });
    expect(b.statusCode).toBe(422);
    expect(b.json()).toMatchObject({ code: 'LIMIT_STORAGE_EXCEEDED', details: { scope: 'owner', limitBytes: 1000, allocatedBytes: 600 } });
    expect(
      (await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'b', password: PW, quotaBytes: 400 }))
        .statusCode,
    ).toBe(201);
    const up = await call(t.app, s, 'PATCH', `/api/v1/mailboxes/${a.json().id}`, { quotaBytes: 700 });
    expect(up.json().code).toBe('LIMIT_STORAGE_EXCEEDED');
    expect((await call(t.app, s, 'PATCH', `/api/v1/mailboxes/${a.json().id}`, { quotaBytes: 550 })).json().quotaBytes).toBe(550);
    const d = await ownerWithDomain({}, { maxStorageBytes: 100 });
    const over = await call(t.app, d.s, 'POST', `/api/v1/domains/${d.domain.id}/mailboxes`, {
      localPart: 'big',
      password: PW,
      quotaBytes: 101,
    });
    expect(over.json()).toMatchObject({ code: 'LIMIT_STORAGE_EXCEEDED', details: { scope: 'domain' } });
    const neg = await call(t.app, d.s, 'POST', `/api/v1/domains/${d.domain.id}/mailboxes`, {
      localPart: 'neg',
      password: PW,
      quotaBytes: -1,
    });
    expect(neg.statusCode).toBe(400);
  });

  test('list: ordered by local part, cursor pagination, search by local part or display name', async () => {
    const { s, domain } = await ownerWithDomain();
    for (const [lp, dn] of [
      ['carol', 'Carol C'],
      ['alice', 'Alice A'],
      ['bob', 'Robert Builder'],
    ])
      await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: lp, password: PW, displayName: dn });
    const p1 = (await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}/mailboxes?limit=2`)).json();
    expect(p1.items.map((m: { localPart: string }) => m.localPart)).toEqual(['alice', 'bob']);
    const p2 = (
      await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}/mailboxes?limit=2&cursor=${encodeURIComponent(p1.nextCursor)}`)
    ).json();
    expect(p2.items.map((m: { localPart: string }) => m.localPart)).toEqual(['carol']);
    expect(p2.nextCursor).toBeNull();
    const q = (await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}/mailboxes?q=builder`)).json();
    expect(q.items.map((m: { localPart: string }) => m.localPart)).toEqual(['bob']);
    const q2 = (await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}/mailboxes?q=ALI`)).json();
    expect(q2.items.map((m: { localPart: string }) => m.localPart)).toEqual(['alice']);
    // LIKE wildcards in the search are literal characters.
    await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'under_score', password: PW });
    const q3 = (await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}/mailboxes?q=_`)).json();
    expect(q3.items.map((m: { localPart: string }) => m.localPart)).toEqual(['under_score']);
    expect((await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}/mailboxes?q=%25`)).json().items).toEqual([]);
  });

  test('get shows usage and message count; delete removes messages and frees the domain bytes', async () => {
    const { s, domain } = await ownerWithDomain();
    const m = (await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'full', password: PW })).json();
    const raw = Buffer.from('Subject: hi\r\n\r\nhello\r\n');
    await t.prisma.$transaction([
      t.prisma.message.create({ data: { mailboxId: m.id, uid: 1, uidl: 'u1', sizeOctets: raw.length, raw } }),
      t.prisma.mailbox.update({ where: { id: m.id }, data: { usedBytes: raw.length, messageCount: 1, nextUid: 2 } }),
      t.prisma.domain.update({ where: { id: domain.id }, data: { usedBytes: { increment: raw.length } } }),
    ]);
    expect((await call(t.app, s, 'GET', `/api/v1/mailboxes/${m.id}`)).json()).toMatchObject({ usedBytes: raw.length, messageCount: 1 });
    expect((await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}`)).json()).toMatchObject({ usedBytes: raw.length, mailboxCount: 1 });
    expect((await call(t.app, s, 'DELETE', `/api/v1/mailboxes/${m.id}`)).statusCode).toBe(204);
    expect(await t.prisma.message.count({ where: { mailboxId: m.id } })).toBe(0);
    expect((await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}`)).json()).toMatchObject({ usedBytes: 0, mailboxCount: 0 });
    expect((await call(t.app, s, 'GET', `/api/v1/mailboxes/${m.id}`)).statusCode).toBe(404);
    expect((await call(t.app, s, 'DELETE', `/api/v1/mailboxes/${m.id}`)).statusCode).toBe(404);
  });

  test('update display name, quota, enabled; disabling signs the mailbox user out', async () => {
    const { s, domain } = await ownerWithDomain();
    const m = (await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'upd', password: PW })).json();
    const ms = await login(t.app, m.address, PW);
    const res = await call(t.app, s, 'PATCH', `/api/v1/mailboxes/${m.id}`, { displayName: 'Updated', quotaBytes: 123, enabled: false });
    expect(res.json()).toMatchObject({ displayName: 'Updated', quotaBytes: 123, enabled: false });
    expect((await call(t.app, ms, 'GET', '/api/v1/me')).statusCode).toBe(401);
    expect((await call(t.app, s, 'PATCH', `/api/v1/mailboxes/${m.id}`, { quotaBytes: null })).json().quotaBytes).toBeNull();
  });

  test('PUT /mailboxes/{id}/password: the old password stops working, the new one works; policy applies', async () => {
    const { s, domain } = await ownerWithDomain();
    const m = (await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'reset', password: PW })).json();
    const ms = await login(t.app, m.address, PW);
    expect((await call(t.app, s, 'PUT', `/api/v1/mailboxes/${m.id}/password`, { password: 'abc123' })).statusCode).toBe(422);
    expect((await call(t.app, s, 'PUT', `/api/v1/mailboxes/${m.id}/password`, { password: 'brand new passphrase 5' })).statusCode).toBe(
      204,
    );
    expect((await call(t.app, ms, 'GET', '/api/v1/me')).statusCode).toBe(401);
    const old = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress: '10.77.0.1',
      payload: { email: m.address, password: PW },
    });
    expect(old.statusCode).toBe(401);
    await login(t.app, m.address, 'brand new passphrase 5', '10.77.0.2');
  });

  test('unknown domain or mailbox ids are 404; malformed ids 400', async () => {
    const { s } = await ownerWithDomain();
    expect(
      (await call(t.app, s, 'POST', '/api/v1/domains/01900000-0000-7000-8000-000000000000/mailboxes', { localPart: 'x', password: PW }))
        .statusCode,
    ).toBe(404);
    expect((await call(t.app, s, 'GET', '/api/v1/mailboxes/01900000-0000-7000-8000-000000000000')).statusCode).toBe(404);
    expect((await call(t.app, s, 'GET', '/api/v1/mailboxes/not-a-uuid')).statusCode).toBe(400);
  });
});
