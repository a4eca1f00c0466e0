import { eventually } from '@mailroom/runtime/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createKey, createTestApp, createUser, login, type TestContext, uniqueName } from '../testing.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

async function owner() {
  const o = await createUser(t);
  const s = await login(t.app, o.email, o.password);
  return { ...o, s };
}

describe('api keys', () => {
  test('create shows the secret once; only its SHA-256 is stored; the key works as a Bearer token; lastUsedAt is recorded', async () => {
    const o = await owner();
    const res = await call(t.app, o.s, 'POST', '/api/v1/api-keys', { name: 'billing', scopes: ['domains:write', 'mailboxes:write'] });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json();
    expect(created.key).toMatch(/^mr_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(created.key.slice(3, 15)).toBe(created.prefix);
    const row = await t.prisma.apiKey.findUniqueOrThrow({ where: { id: created.id } });
    expect(JSON.stringify(row)).not.toContain(created.key.slice(16));
    const listed = await call(t.app, o.s, 'GET', '/api/v1/api-keys');
    expect(listed.json().items).toHaveLength(1);
    expect(listed.body).not.toContain(created.key.slice(16));
    expect(listed.json().items[0]).not.toHaveProperty('key');
    const d = await call(t.app, { key: created.key }, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` });
    expect(d.statusCode).toBe(201);
    await new Promise((r) => setTimeout(r, 50));
    expect((await call(t.app, o.s, 'GET', `/api/v1/api-keys/${created.id}`)).json().lastUsedAt).not.toBeNull();
  });

  test('last use: when and from where, written at most once a minute per key (also while the key is cached)', async () => {
    const o = await owner();
    const key = await createKey(t.prisma, o.id, ['domains:read']);
    const id = (await call(t.app, o.s, 'GET', '/api/v1/api-keys')).json().items[0].id;
    const use = (ip: string) =>
      t.app.inject({ method: 'GET', url: '/api/v1/domains', headers: { authorization: `Bearer ${key}` }, remoteAddress: ip });
    expect((await call(t.app, o.s, 'GET', `/api/v1/api-keys/${id}`)).json()).toMatchObject({ lastUsedAt: null, lastUsedIp: null });
    expect((await use('198.51.100.20')).statusCode).toBe(200);
    await eventually(async () => (await call(t.app, o.s, 'GET', `/api/v1/api-keys/${id}`)).json().lastUsedIp === '198.51.100.20');
    const first = (await call(t.app, o.s, 'GET', `/api/v1/api-keys/${id}`)).json().lastUsedAt;
    // Within the minute another use changes nothing.
    expect((await use('198.51.100.21')).statusCode).toBe(200);
    const row = await t.prisma.apiKey.findUniqueOrThrow({ where: { id } });
    expect({ at: row.lastUsedAt?.toISOString(), ip: row.lastUsedIp }).toEqual({ at: first, ip: '198.51.100.20' });
  });

  test('a tampered secret, a revoked key and an expired key are 401', async () => {
    const o = await owner();
    const key = await createKey(t.prisma, o.id, ['domains:read']);
    // Used (and so remembered by the API) before it is revoked: revocation still takes effect at once.
    expect((await call(t.app, { key }, 'GET', '/api/v1/domains')).statusCode).toBe(200);
    const tampered = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    expect((await call(t.app, { key: tampered }, 'GET', '/api/v1/domains')).statusCode).toBe(401);
    const id = (await call(t.app, o.s, 'GET', '/api/v1/api-keys')).json().items[0].id;
    const revoked = await call(t.app, o.s, 'DELETE', `/api/v1/api-keys/${id}`);
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().revokedAt).not.toBeNull();
    expect((await call(t.app, { key }, 'GET', '/api/v1/domains')).statusCode).toBe(401);
    const key2 = await createKey(t.prisma, o.id, ['domains:read']);
    await t.prisma.apiKey.updateMany({ where: { userId: o.id, revokedAt: null }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await call(t.app, { key: key2 }, 'GET', '/api/v1/domains')).statusCode).toBe(401);
  });

  test('scopes: a read key cannot write (403); write implies read', async () => {
    const o = await owner();
    const read = await createKey(t.prisma, o.id, ['domains:read']);
    const denied = await call(t.app, { key: read }, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: 'FORBIDDEN', details: { requiredScope: 'domains:write' } });
    const write = await createKey(t.prisma, o.id, ['domains:write']);
    expect((await call(t.app, { key: write }, 'GET', '/api/v1/domains')).statusCode).toBe(200);
    expect((await call(t.app, { key: write }, 'GET', '/api/v1/api-keys')).statusCode).toBe(403);
  });

  test('a key never exceeds its creator: owners get no owners:* scope; a key passes on at most its scopes, domains and expiry', async () => {
    const o = await owner();
    const ownersScope = await call(t.app, o.s, 'POST', '/api/v1/api-keys', { name: 'x', scopes: ['owners:read'] });
    expect(ownersScope.statusCode).toBe(403);
    expect(ownersScope.json().errors[0]).toMatchObject({ path: 'scopes.0', code: 'exceeds_rights' });
    const d1 = (await call(t.app, o.s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` })).json();
    const d2 = (await call(t.app, o.s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` })).json();
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const parent = (
      await call(t.app, o.s, 'POST', '/api/v1/api-keys', {
        name: 'parent',
        scopes: ['api-keys:write', 'domains:read'],
        domainIds: [d1.id],
        expiresAt,
      })
    ).json();
    const more = await call(t.app, { key: parent.key }, 'POST', '/api/v1/api-keys', { name: 'child', scopes: ['domains:write'] });
    expect(more.statusCode).toBe(403);
    const otherDomain = await call(t.app, { key: parent.key }, 'POST', '/api/v1/api-keys', {
      name: 'child',
      scopes: ['domains:read'],
      domainIds: [d2.id],
    });
    expect(otherDomain.statusCode).toBe(400);
    const later = await call(t.app, { key: parent.key }, 'POST', '/api/v1/api-keys', {
      name: 'child',
      scopes: ['domains:read'],
      expiresAt: new Date(Date.now() + 7_200_000).toISOString(),
    });
    expect(later.statusCode).toBe(403);
    const child = await call(t.app, { key: parent.key }, 'POST', '/api/v1/api-keys', { name: 'child', scopes: ['domains:read'] });
    expect(child.statusCode, child.body).toBe(201);
    expect(child.json()).toMatchObject({ domainIds: [d1.id], expiresAt: parent.expiresAt, scopes: ['domains:read'] });
    const visible = (await call(t.app, { key: child.json().key }, 'GET', '/api/v1/domains')).json().items.map((d: { id: string }) => d.id);
    expect(visible).toEqual([d1.id]);
    expect((await call(t.app, { key: child.json().key }, 'GET', `/api/v1/domains/${d2.id}`)).statusCode).toBe(404);
    const past = await call(t.app, o.s, 'POST', '/api/v1/api-keys', {
      name: 'old',
      scopes: ['domains:read'],
      expiresAt: '2020-01-01T00:00:00Z',
    });
    expect(past.statusCode).toBe(400);
  });

  test("owners see and revoke only their own keys; another's key id is 404", async () => {
    const a = await owner();
    const b = await owner();
    const key = (await call(t.app, a.s, 'POST', '/api/v1/api-keys', { name: 'a', scopes: ['domains:read'] })).json();
    expect((await call(t.app, b.s, 'GET', `/api/v1/api-keys/${key.id}`)).statusCode).toBe(404);
    expect((await call(t.app, b.s, 'DELETE', `/api/v1/api-keys/${key.id}`)).statusCode).toBe(404);
    expect((await call(t.app, b.s, 'GET', '/api/v1/api-keys')).json().items).toEqual([]);
    expect((await call(t.app, b.s, 'GET', `/api/v1/api-keys?userId=${a.id}`)).json().items).toEqual([]);
    const admin = await createUser(t, { role: 'ADMIN' });
    const as = await login(t.app, admin.email, admin.password);
    expect((await call(t.app, as, 'GET', `/api/v1/api-keys?userId=${a.id}`)).json().items.map((k: { id: string }) => k.id)).toEqual([
      key.id,
    ]);
  });

  test('a domain-restricted key cannot create domains', async () => {
    const o = await owner();
    const d = (await call(t.app, o.s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` })).json();
    const key = await createKey(t.prisma, o.id, ['domains:write'], [d.id]);
    expect((await call(t.app, { key }, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` })).statusCode).toBe(403);
    expect((await call(t.app, { key }, 'PATCH', `/api/v1/domains/${d.id}`, { description: 'ok' })).statusCode).toBe(200);
  });

  test('changing your own password can revoke every key of yours in the same step (revokeApiKeys), audited', async () => {
    const o = await owner();
    const k1 = (await call(t.app, o.s, 'POST', '/api/v1/api-keys', { name: 'k1', scopes: ['domains:read'] })).json().key;
    const k2 = await createKey(t.prisma, o.id, ['domains:read']);
    const other = await owner();
    const theirs = await createKey(t.prisma, other.id, ['domains:read']);
    for (const key of [k1, k2, theirs]) expect((await call(t.app, { key }, 'GET', '/api/v1/domains')).statusCode).toBe(200);
    // Without the flag, keys survive a password change.
    expect(
      (await call(t.app, o.s, 'PUT', '/api/v1/me/password', { currentPassword: o.password, newPassword: 'first new passphrase 1' }))
        .statusCode,
    ).toBe(204);
    expect((await call(t.app, { key: k1 }, 'GET', '/api/v1/domains')).statusCode).toBe(200);
    const res = await call(t.app, o.s, 'PUT', '/api/v1/me/password', {
      currentPassword: 'first new passphrase 1',
      newPassword: 'second new passphrase 2',
      revokeApiKeys: true,
    });
    expect(res.statusCode, res.body).toBe(204);
    expect((await call(t.app, { key: k1 }, 'GET', '/api/v1/domains')).statusCode).toBe(401);
    expect((await call(t.app, { key: k2 }, 'GET', '/api/v1/domains')).statusCode).toBe(401);
    expect((await call(t.app, { key: theirs }, 'GET', '/api/v1/domains')).statusCode).toBe(200);
    // The session that changed the password stays signed in.
    expect((await call(t.app, o.s, 'GET', '/api/v1/me')).statusCode).toBe(200);
    const event = (await call(t.app, o.s, 'GET', '/api/v1/audit-events?action=user.password.change')).json().items[0];
    expect(event.details).toEqual({ apiKeysRevoked: 2 });
  });
});
