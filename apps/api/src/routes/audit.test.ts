import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createKey, createTestApp, createUser, login, type TestContext, uniqueName } from '../testing.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

describe('audit events', () => {
  test('every change writes an event with actor, IP, target and changed fields, never a secret', async () => {
    const o = await createUser(t);
    const s = await login(t.app, o.email, o.password);
    const secretPw = 'very secret mailbox pass 9';
    const d = (await call(t.app, s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` })).json();
    const m = (await call(t.app, s, 'POST', `/api/v1/domains/${d.id}/mailboxes`, { localPart: 'x', password: secretPw })).json();
    await call(t.app, s, 'PATCH', `/api/v1/mailboxes/${m.id}`, { displayName: 'X', quotaBytes: 1000 });
    await call(t.app, s, 'PUT', `/api/v1/mailboxes/${m.id}/password`, { password: 'another secret pass 10' });
    const a = (await call(t.app, s, 'POST', `/api/v1/domains/${d.id}/aliases`, { localPart: 'al', destinations: [m.id] })).json();
    await call(t.app, s, 'PATCH', `/api/v1/aliases/${a.id}`, { enabled: false });
    await call(t.app, s, 'DELETE', `/api/v1/aliases/${a.id}`);
    const k = (await call(t.app, s, 'POST', '/api/v1/api-keys', { name: 'k', scopes: ['audit:read'] })).json();
    await call(t.app, s, 'DELETE', `/api/v1/api-keys/${k.id}`);
    await call(t.app, s, 'PATCH', `/api/v1/domains/${d.id}`, { description: 'd' });
    await call(t.app, s, 'DELETE', `/api/v1/mailboxes/${m.id}`);
    await call(t.app, s, 'DELETE', `/api/v1/domains/${d.id}`);
    await call(t.app, s, 'PUT', '/api/v1/me/password', { currentPassword: o.password, newPassword: 'owner new passphrase 3' });

    const res = await call(t.app, s, 'GET', '/api/v1/audit-events?limit=200');
    expect(res.statusCode).toBe(200);
    const events = res.json().items as {
      action: string;
      actorType: string;
      actorId: string;
      ip: string;
      details: Record<string, unknown>;
      targetId: string;
    }[];
    expect(events.map((e) => e.action).reverse()).toEqual([
      'auth.login',
      'domain.create',
      'mailbox.create',
      'mailbox.update',
      'mailbox.password.set',
      'alias.create',
      'alias.update',
      'alias.delete',
      'api-key.create',
      'api-key.revoke',
      'domain.update',
      'mailbox.delete',
      'domain.delete',
      'user.password.change',
    ]);
    for (const e of events) {
      expect(e).toMatchObject({ actorType: 'user', actorId: o.id, ip: e.action === 'auth.login' ? '10.1.2.3' : '127.0.0.1' });
    }
    const upd = events.find((e) => e.action === 'mailbox.update')!;
    expect(upd.details).toMatchObject({ displayName: 'X', quotaBytes: 1000 });
    const all = JSON.stringify(events);
    for (const secret of [secretPw, 'another secret pass 10', 'owner new passphrase 3', o.password, k.key, k.key.slice(16)])
      expect(all).not.toContain(secret);
    expect(all).not.toMatch(/argon2|passwordHash|secretHash/);
  });

  test('filters: action (exact or prefix), target, actor, time; owners see only their tenant; admins everything', async () => {
    const a = await createUser(t);
    const b = await createUser(t);
    const sa = await login(t.app, a.email, a.password);
    const sb = await login(t.app, b.email, b.password);
    const da = (await call(t.app, sa, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` })).json();
    const db = (await call(t.app, sb, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` })).json();
    const byTarget = (await call(t.app, sa, 'GET', `/api/v1/audit-events?targetId=${da.id}`)).json().items;
    expect(byTarget.map((e: { action: string }) => e.action)).toEqual(['domain.create']);
    expect((await call(t.app, sa, 'GET', `/api/v1/audit-events?targetId=${db.id}`)).json().items).toEqual([]);
    expect((await call(t.app, sa, 'GET', '/api/v1/audit-events?action=domain.')).json().items).toHaveLength(1);
    expect((await call(t.app, sa, 'GET', '/api/v1/audit-events?action=domain.create')).json().items).toHaveLength(1);
    expect((await call(t.app, sa, 'GET', `/api/v1/audit-events?actorId=${b.id}`)).json().items).toEqual([]);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await call(t.app, sa, 'GET', `/api/v1/audit-events?from=${encodeURIComponent(future)}`)).json().items).toEqual([]);
    expect(
      (await call(t.app, sa, 'GET', `/api/v1/audit-events?to=${encodeURIComponent(future)}&action=domain.create`)).json().items,
    ).toHaveLength(1);
    expect((await call(t.app, sa, 'GET', '/api/v1/audit-events?from=yesterday')).statusCode).toBe(400);
    const admin = await createUser(t, { role: 'ADMIN' });
    const as = await login(t.app, admin.email, admin.password);
    expect((await call(t.app, as, 'GET', `/api/v1/audit-events?targetId=${db.id}`)).json().items).toHaveLength(1);
    expect((await call(t.app, as, 'GET', `/api/v1/audit-events?ownerId=${b.id}&action=domain.create`)).json().items).toHaveLength(1);
    // API keys need audit:read; their events are attributed to the key.
    const key = await createKey(t.prisma, a.id, ['audit:read', 'domains:write']);
    expect((await call(t.app, { key: await createKey(t.prisma, a.id, ['domains:read']) }, 'GET', '/api/v1/audit-events')).statusCode).toBe(
      403,
    );
    await call(t.app, { key }, 'PATCH', `/api/v1/domains/${da.id}`, { description: 'via key' });
    const viaKey = (await call(t.app, { key }, 'GET', '/api/v1/audit-events?action=domain.update')).json().items[0];
    expect(viaKey).toMatchObject({ actorType: 'apiKey', actorId: a.id, apiKeyId: expect.any(String) });
  });

  test('cursor pagination walks every event once, newest first', async () => {
    const o = await createUser(t);
    const s = await login(t.app, o.email, o.password);
    for (let i = 0; i < 5; i++) await call(t.app, s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` });
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = (
        await call(t.app, s, 'GET', `/api/v1/audit-events?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      ids.push(...page.items.map((e: { id: string }) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(ids).toHaveLength(6);
    expect(new Set(ids).size).toBe(6);
    expect([...ids].sort().reverse()).toEqual(ids);
  });
});
