import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createTestApp, createUser, login, type TestContext, uniqueName } from '../testing.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const PW = 'mailbox passphrase 1';

async function setup() {
  const o = await createUser(t);
  const s = await login(t.app, o.email, o.password);
  const domain = (await call(t.app, s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` })).json();
  const a = (await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'alice', password: PW })).json();
  const b = (await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'bob', password: PW })).json();
  return { s, domain, a, b };
}

describe('aliases', () => {
  test('create an alias and a catch-all; list; get', async () => {
    const { s, domain, a, b } = await setup();
    const res = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/aliases`, { localPart: 'Sales', destinations: [a.id, b.id] });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ localPart: 'sales', address: `sales@${domain.name}`, enabled: true });
    expect(
      res
        .json()
        .destinations.map((d: { address: string }) => d.address)
        .sort(),
    ).toEqual([a.address, b.address].sort());
    const catchAll = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/aliases`, { localPart: null, destinations: [a.id] });
    expect(catchAll.json()).toMatchObject({ localPart: null, address: `@${domain.name}` });
    const list = (await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}/aliases?limit=1`)).json();
    expect(list.items).toHaveLength(1);
    const next = (await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}/aliases?limit=1&cursor=${list.nextCursor}`)).json();
    expect(next.items).toHaveLength(1);
    expect(next.nextCursor).toBeNull();
    expect((await call(t.app, s, 'GET', `/api/v1/aliases/${res.json().id}`)).json().id).toBe(res.json().id);
    expect((await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}`)).json().aliasCount).toBe(2);
  });

  test('one catch-all per domain; an alias may not shadow a mailbox, nor a mailbox an alias (409)', async () => {
    const { s, domain, a } = await setup();
    await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/aliases`, { localPart: null, destinations: [a.id] });
    const second = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/aliases`, { localPart: null, destinations: [a.id] });
    expect(second.statusCode).toBe(409);
    expect(second.json().code).toBe('ALREADY_EXISTS');
    const shadow = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/aliases`, { localPart: 'ALICE', destinations: [a.id] });
    expect(shadow.statusCode).toBe(409);
    await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/aliases`, { localPart: 'team', destinations: [a.id] });
    const mb = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'team', password: PW });
    expect(mb.statusCode).toBe(409);
  });

  test("destinations must be the owner's mailboxes: another tenant's or unknown ids are 400 per index", async () => {
    const mine = await setup();
    const theirs = await setup();
    const res = await call(t.app, mine.s, 'POST', `/api/v1/domains/${mine.domain.id}/aliases`, {
      localPart: 'x',
      destinations: [mine.a.id, theirs.a.id],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([expect.objectContaining({ path: 'destinations.1', code: 'unknown_mailbox' })]);
    expect(
      (await call(t.app, mine.s, 'POST', `/api/v1/domains/${mine.domain.id}/aliases`, { localPart: 'x', destinations: [] })).statusCode,
    ).toBe(400);
  });

  test('update replaces destinations, renames, disables; delete', async () => {
    const { s, domain, a, b } = await setup();
    const alias = (
      await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/aliases`, { localPart: 'help', destinations: [a.id] })
    ).json();
    const upd = await call(t.app, s, 'PATCH', `/api/v1/aliases/${alias.id}`, {
      localPart: 'support',
      destinations: [b.id],
      enabled: false,
    });
    expect(upd.statusCode, upd.body).toBe(200);
    expect(upd.json()).toMatchObject({ localPart: 'support', enabled: false, destinations: [{ mailboxId: b.id, address: b.address }] });
    const clash = await call(t.app, s, 'PATCH', `/api/v1/aliases/${alias.id}`, { localPart: 'bob' });
    expect(clash.statusCode).toBe(409);
    expect((await call(t.app, s, 'DELETE', `/api/v1/aliases/${alias.id}`)).statusCode).toBe(204);
    expect((await call(t.app, s, 'GET', `/api/v1/aliases/${alias.id}`)).statusCode).toBe(404);
  });

  test('deleting a destination mailbox removes it from the alias', async () => {
    const { s, domain, a, b } = await setup();
    const alias = (
      await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/aliases`, { localPart: 'both', destinations: [a.id, b.id] })
    ).json();
    await call(t.app, s, 'DELETE', `/api/v1/mailboxes/${b.id}`);
    expect((await call(t.app, s, 'GET', `/api/v1/aliases/${alias.id}`)).json().destinations).toEqual([
      { mailboxId: a.id, address: a.address },
    ]);
  });
});
