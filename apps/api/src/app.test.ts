import { afterAll, beforeAll, expect, test } from 'vitest';
import { call, createTestApp, createUser, login, type TestContext, uniqueName } from './testing.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

test('an owner signs in, adds a domain and a mailbox, and sees the usage in /me', async () => {
  const owner = await createUser(t);
  const s = await login(t.app, owner.email, owner.password);
  const d = await call(t.app, s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` });
  expect(d.statusCode, d.body).toBe(201);
  const m = await call(t.app, s, 'POST', `/api/v1/domains/${d.json().id}/mailboxes`, {
    localPart: 'Alice',
    password: 'a much better password 1',
  });
  expect(m.statusCode, m.body).toBe(201);
  const list = await call(t.app, s, 'GET', `/api/v1/domains/${d.json().id}/mailboxes`);
  expect(list.json().items[0].address).toMatch(/^alice@/);
  const me = await call(t.app, s, 'GET', '/api/v1/me');
  expect(me.json().user.usage).toEqual({ domains: 1, mailboxes: 1, usedBytes: 0 });
  const doc = await t.app.inject({ method: 'GET', url: '/api/openapi.json' });
  expect(doc.statusCode).toBe(200);
});
