import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createKey, createTestAppWithAdmin, createUser, login, type Session, type TestContext, uniqueName } from '../testing.ts';

let t: TestContext;
let admin: Session;
beforeAll(async () => ({ t, admin } = await createTestAppWithAdmin()));
afterAll(async () => t?.close());

const newOwner = (extra: Record<string, unknown> = {}) => ({
  email: `${uniqueName('o')}@example.com`,
  password: 'owner passphrase 2026',
  ...extra,
});

describe('owners (admin)', () => {
  test('create with limits, get with usage, list by email with cursor pagination', async () => {
    const body = newOwner({ displayName: 'Acme', maxDomains: 2, maxMailboxes: 10, maxStorageBytes: 5_000_000_000 });
    const res = await call(t.app, admin, 'POST', '/api/v1/owners', body);
    expect(res.statusCode, res.body).toBe(201);
    const owner = res.json();
    expect(owner).toMatchObject({
      email: body.email,
      displayName: 'Acme',
      disabled: false,
      maxDomains: 2,
      maxMailboxes: 10,
      maxStorageBytes: 5_000_000_000,
      usage: { domains: 0, mailboxes: 0, usedBytes: 0 },
    });
    expect(owner).not.toHaveProperty('password');
    expect(owner).not.toHaveProperty('passwordHash');
    expect((await call(t.app, admin, 'GET', `/api/v1/owners/${owner.id}`)).json().email).toBe(body.email);
    // The new owner can sign in.
    await login(t.app, body.email, body.password);

    const prefix = uniqueName('page');
    for (let i = 0; i < 5; i++) await call(t.app, admin, 'POST', '/api/v1/owners', newOwner({ email: `${prefix}-${i}@example.com` }));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call(t.app, admin, 'GET', `/api/v1/owners?limit=2&q=${prefix}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.statusCode).toBe(200);
      seen.push(...page.json().items.map((o: { email: string }) => o.email));
      cursor = page.json().nextCursor;
    } while (cursor);
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => `${prefix}-${i}@example.com`));
  });

  test('duplicate email (any case) is 409 ALREADY_EXISTS; weak password 422; bad email 400', async () => {
    const body = newOwner();
    expect((await call(t.app, admin, 'POST', '/api/v1/owners', body)).statusCode).toBe(201);
    const dup = await call(t.app, admin, 'POST', '/api/v1/owners', { ...body, email: body.email.toUpperCase() });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: 'ALREADY_EXISTS', errors: [{ path: 'email' }] });
    const weak = await call(t.app, admin, 'POST', '/api/v1/owners', newOwner({ password: 'qwerty123' }));
    expect(weak.statusCode).toBe(422);
    expect(weak.json().code).toBe('PASSWORD_TOO_WEAK');
    const bad = await call(t.app, admin, 'POST', '/api/v1/owners', newOwner({ email: 'not-an-email' }));
    expect(bad.statusCode).toBe(400);
    const neg = await call(t.app, admin, 'POST', '/api/v1/owners', newOwner({ maxDomains: -1 }));
    expect(neg.statusCode).toBe(400);
  });

  test('update limits and password; disable ends sessions and keys; enable again', async () => {
    const created = (await call(t.app, admin, 'POST', '/api/v1/owners', newOwner())).json();
    const s = await login(t.app, created.email, 'owner passphrase 2026');
    const key = await createKey(t.prisma, created.id, ['domains:read']);
    expect((await call(t.app, { key }, 'GET', '/api/v1/me')).statusCode).toBe(200);
    const upd = await call(t.app, admin, 'PATCH', `/api/v1/owners/${created.id}`, {
      maxDomains: 5,
      maxStorageBytes: null,
      displayName: 'New name',
    });
    expect(upd.json()).toMatchObject({ maxDomains: 5, maxStorageBytes: null, displayName: 'New name' });
    const dis = await call(t.app, admin, 'PATCH', `/api/v1/owners/${created.id}`, { disabled: true });
    expect(dis.json().disabled).toBe(true);
    expect((await call(t.app, s, 'GET', '/api/v1/me')).statusCode).toBe(401);
    expect((await call(t.app, { key }, 'GET', '/api/v1/me')).statusCode).toBe(401);
    await call(t.app, admin, 'PATCH', `/api/v1/owners/${created.id}`, { disabled: false });
    // Disabling suspends keys; enabling again restores them.
    expect((await call(t.app, { key }, 'GET', '/api/v1/me')).statusCode).toBe(200);
    await call(t.app, admin, 'PATCH', `/api/v1/owners/${created.id}`, { password: 'another passphrase 11' });
    const events = (await call(t.app, admin, 'GET', `/api/v1/audit-events?targetId=${created.id}`)).json().items as {
      action: string;
      details: Record<string, unknown>;
    }[];
    expect(events.map((e) => e.action)).toEqual([
      'owner.password.reset',
      'owner.enable',
      'owner.disable',
      'owner.update',
      'auth.login',
      'owner.create',
    ]);
    expect(events[0]!.details).toMatchObject({ changed: ['password'], apiKeysRevoked: 1 });
    expect(JSON.stringify(events)).not.toContain('another passphrase 11');
    await login(t.app, created.email, 'another passphrase 11');
  });

  test('an admin password reset ends every session of the owner and revokes every key of theirs, audited', async () => {
    const created = (await call(t.app, admin, 'POST', '/api/v1/owners', newOwner())).json();
    const s = await login(t.app, created.email, 'owner passphrase 2026');
    const key = (await call(t.app, s, 'POST', '/api/v1/api-keys', { name: 'mine', scopes: ['domains:read'] })).json().key;
    const other = await createKey(t.prisma, created.id, ['domains:write']);
    // Both keys are used (so the API has them cached) before the reset.
    expect((await call(t.app, { key }, 'GET', '/api/v1/domains')).statusCode).toBe(200);
    expect((await call(t.app, { key: other }, 'GET', '/api/v1/domains')).statusCode).toBe(200);
    const reset = await call(t.app, admin, 'PATCH', `/api/v1/owners/${created.id}`, { password: 'reset by the admin 77' });
    expect(reset.statusCode, reset.body).toBe(200);
    expect((await call(t.app, s, 'GET', '/api/v1/me')).statusCode).toBe(401);
    expect((await call(t.app, { key }, 'GET', '/api/v1/domains')).statusCode).toBe(401);
    expect((await call(t.app, { key: other }, 'GET', '/api/v1/domains')).statusCode).toBe(401);
    const keys = await t.prisma.apiKey.findMany({ where: { userId: created.id } });
    expect(keys.map((k) => k.revokedAt !== null)).toEqual([true, true]);
    const event = (await call(t.app, admin, 'GET', `/api/v1/audit-events?targetId=${created.id}&action=owner.password.reset`)).json()
      .items[0];
    expect(event).toMatchObject({ actorType: 'user', details: { changed: ['password'], sessionsEnded: 1, apiKeysRevoked: 2 } });
    // The new password signs in; the old one does not.
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { email: created.email, password: 'owner passphrase 2026' },
          remoteAddress: '10.9.8.7',
        })
      ).statusCode,
    ).toBe(401);
    await login(t.app, created.email, 'reset by the admin 77');
  });

  test('delete: OWNER_NOT_EMPTY while domains exist, force deletes them', async () => {
    const created = (await call(t.app, admin, 'POST', '/api/v1/owners', newOwner())).json();
    const d = await call(t.app, admin, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example`, ownerId: created.id });
    expect(d.statusCode).toBe(201);
    const refused = await call(t.app, admin, 'DELETE', `/api/v1/owners/${created.id}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe('OWNER_NOT_EMPTY');
    expect((await call(t.app, admin, 'DELETE', `/api/v1/owners/${created.id}?force=true`)).statusCode).toBe(204);
    expect((await call(t.app, admin, 'GET', `/api/v1/owners/${created.id}`)).statusCode).toBe(404);
    expect((await call(t.app, admin, 'GET', `/api/v1/domains/${d.json().id}`)).statusCode).toBe(404);
    const empty = (await call(t.app, admin, 'POST', '/api/v1/owners', newOwner())).json();
    expect((await call(t.app, admin, 'DELETE', `/api/v1/owners/${empty.id}`)).statusCode).toBe(204);
  });

  test('unknown owner ids are 404; admins are not owners', async () => {
    expect((await call(t.app, admin, 'GET', '/api/v1/owners/01900000-0000-7000-8000-000000000000')).statusCode).toBe(404);
    expect(
      (await call(t.app, admin, 'PATCH', '/api/v1/owners/01900000-0000-7000-8000-000000000000', { displayName: 'x' })).statusCode,
    ).toBe(404);
    expect((await call(t.app, admin, 'DELETE', '/api/v1/owners/01900000-0000-7000-8000-000000000000')).statusCode).toBe(404);
    const me = (await call(t.app, admin, 'GET', '/api/v1/me')).json();
    expect((await call(t.app, admin, 'GET', `/api/v1/owners/${me.user.id}`)).statusCode).toBe(404);
  });

  test('owners cannot manage owners (403 FORBIDDEN)', async () => {
    const o = await createUser(t);
    const s = await login(t.app, o.email, o.password);
    expect((await call(t.app, s, 'GET', '/api/v1/owners')).json().code).toBe('FORBIDDEN');
    expect((await call(t.app, s, 'POST', '/api/v1/owners', newOwner())).statusCode).toBe(403);
  });
});
