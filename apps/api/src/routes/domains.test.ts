import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createTestAppWithAdmin, createUser, login, type Session, type TestContext, uniqueName } from '../testing.ts';

let t: TestContext;
let admin: Session;
beforeAll(async () => ({ t, admin } = await createTestAppWithAdmin()));
afterAll(async () => t?.close());

async function owner(opts: { maxDomains?: number } = {}) {
  const o = await createUser(t, opts);
  return { ...o, s: await login(t.app, o.email, o.password) };
}

describe('domains', () => {
  test('owner creates a domain: IDN to lowercase punycode, defaults, counts', async () => {
    const o = await owner();
    const label = uniqueName('bücher');
    const res = await call(t.app, o.s, 'POST', '/api/v1/domains', { name: `${label}.Example`, description: 'Books' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      name: `${new URL(`http://${label}.example`).hostname}`,
      ownerId: o.id,
      ownerEmail: o.email,
      active: true,
      description: 'Books',
      usedBytes: 0,
      mailboxCount: 0,
      aliasCount: 0,
      maxMailboxes: null,
    });
    expect(res.json().name).toMatch(/^xn--/);
  });

  test('invalid names are 400 with the field: trailing dot, IP literal, single label, bad label', async () => {
    const o = await owner();
    for (const name of [
      'example.com.',
      '192.168.1.1',
      '[::1]',
      'localhost',
      '-bad.example',
      'a..b.example',
      `${'x'.repeat(64)}.example`,
      'under_score.example',
    ]) {
      const res = await call(t.app, o.s, 'POST', '/api/v1/domains', { name });
      expect(res.statusCode, name).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
      expect(res.json().errors[0].path).toMatch(/name$/);
    }
  });

  test('duplicate (any case) is 409 ALREADY_EXISTS', async () => {
    const o = await owner();
    const name = `${uniqueName('d')}.example`;
    expect((await call(t.app, o.s, 'POST', '/api/v1/domains', { name })).statusCode).toBe(201);
    const dup = await call(t.app, o.s, 'POST', '/api/v1/domains', { name: name.toUpperCase() });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('ALREADY_EXISTS');
  });

  test('LIMIT_DOMAINS_EXCEEDED at the owner limit', async () => {
    const o = await owner({ maxDomains: 1 });
    expect((await call(t.app, o.s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` })).statusCode).toBe(201);
    const over = await call(t.app, o.s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` });
    expect(over.statusCode).toBe(422);
    expect(over.json()).toMatchObject({ code: 'LIMIT_DOMAINS_EXCEEDED', details: { limit: 1, current: 1 } });
  });

  test('admin names the owner and sets domain limits; owners may not set limits or owners', async () => {
    const o = await owner();
    const res = await call(t.app, admin, 'POST', '/api/v1/domains', {
      name: `${uniqueName('d')}.example`,
      ownerId: o.id,
      maxMailboxes: 3,
      maxStorageBytes: 1_000_000,
      defaultQuotaBytes: 100_000,
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ ownerId: o.id, maxMailboxes: 3, maxStorageBytes: 1_000_000, defaultQuotaBytes: 100_000 });
    const denied = await call(t.app, o.s, 'PATCH', `/api/v1/domains/${res.json().id}`, { maxMailboxes: 100 });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().errors[0].path).toBe('maxMailboxes');
    const other = await owner();
    expect((await call(t.app, o.s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example`, ownerId: other.id })).statusCode).toBe(
      403,
    );
    const unknown = await call(t.app, admin, 'POST', '/api/v1/domains', {
      name: `${uniqueName('d')}.example`,
      ownerId: '01900000-0000-7000-8000-000000000000',
    });
    expect(unknown.statusCode).toBe(400);
    const tooBig = await call(t.app, admin, 'POST', '/api/v1/domains', {
      name: `${uniqueName('d')}.example`,
      ownerId: o.id,
      maxStorageBytes: 10,
      defaultQuotaBytes: 11,
    });
    expect(tooBig.json().code).toBe('LIMIT_STORAGE_EXCEEDED');
  });

  test('list by name with cursor pagination and search; get; update; disable', async () => {
    const o = await owner();
    const base = uniqueName('list');
    for (const n of ['c', 'a', 'b']) await call(t.app, o.s, 'POST', '/api/v1/domains', { name: `${n}${base}.example` });
    const p1 = (await call(t.app, o.s, 'GET', '/api/v1/domains?limit=2')).json();
    expect(p1.items.map((d: { name: string }) => d.name)).toEqual([`a${base}.example`, `b${base}.example`]);
    const p2 = (await call(t.app, o.s, 'GET', `/api/v1/domains?limit=2&cursor=${p1.nextCursor}`)).json();
    expect(p2.items.map((d: { name: string }) => d.name)).toEqual([`c${base}.example`]);
    expect(p2.nextCursor).toBeNull();
    const q = (await call(t.app, o.s, 'GET', `/api/v1/domains?q=B${base}`)).json();
    expect(q.items).toHaveLength(1);
    const id = p1.items[0].id;
    expect((await call(t.app, o.s, 'GET', `/api/v1/domains/${id}`)).json().name).toBe(`a${base}.example`);
    const upd = await call(t.app, o.s, 'PATCH', `/api/v1/domains/${id}`, { description: 'hello', defaultQuotaBytes: 1024, active: false });
    expect(upd.json()).toMatchObject({ description: 'hello', defaultQuotaBytes: 1024, active: false });
    expect((await call(t.app, o.s, 'GET', '/api/v1/domains?cursor=garbage')).json().code).toBe('VALIDATION_FAILED');
  });

  test('POP3 policy: LOGIN-DELAY and retention per domain, null for the operator default, bounded', async () => {
    const o = await owner();
    const d = (
      await call(t.app, o.s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example`, loginDelaySeconds: 300, retentionDays: 30 })
    ).json();
    expect(d).toMatchObject({ loginDelaySeconds: 300, retentionDays: 30 });
    const upd = await call(t.app, o.s, 'PATCH', `/api/v1/domains/${d.id}`, { loginDelaySeconds: null, retentionDays: 7 });
    expect(upd.json()).toMatchObject({ loginDelaySeconds: null, retentionDays: 7 });
    const row = await t.prisma.domain.findUniqueOrThrow({ where: { id: d.id } });
    expect([row.loginDelaySeconds, row.retentionDays]).toEqual([null, 7]);
    // EXPIRE 0 (deleted once retrieved) is a policy of its own
    expect((await call(t.app, o.s, 'PATCH', `/api/v1/domains/${d.id}`, { retentionDays: 0 })).json()).toMatchObject({ retentionDays: 0 });
    expect((await call(t.app, o.s, 'PATCH', `/api/v1/domains/${d.id}`, { loginDelaySeconds: -5 })).statusCode).toBe(400);
  });

  test("greylisting per domain: true or false overrides the operator's INGRESS_GREYLIST, null follows it; only the owner's", async () => {
    const o = await owner();
    const other = await owner();
    const created = await call(t.app, o.s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example`, greylisting: false });
    expect([created.statusCode, created.json().greylisting], created.body).toEqual([201, false]);
    const d = created.json();
    const plain = (await call(t.app, o.s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` })).json();
    expect(plain.greylisting).toBeNull();
    expect((await call(t.app, o.s, 'PATCH', `/api/v1/domains/${d.id}`, { greylisting: true })).json().greylisting).toBe(true);
    // leaving it out changes nothing; null goes back to the operator's default
    expect((await call(t.app, o.s, 'PATCH', `/api/v1/domains/${d.id}`, { description: 'x' })).json().greylisting).toBe(true);
    expect((await call(t.app, o.s, 'PATCH', `/api/v1/domains/${d.id}`, { greylisting: null })).json().greylisting).toBeNull();
    for (const bad of ['yes', 1, 'true', {}]) {
      const r = await call(t.app, o.s, 'PATCH', `/api/v1/domains/${d.id}`, { greylisting: bad });
      expect([r.statusCode, r.json().code, r.json().errors?.[0]?.path], JSON.stringify(bad)).toEqual([
        400,
        'VALIDATION_FAILED',
        'body.greylisting',
      ]);
    }
    // abuse: another owner cannot switch it off for someone else's domain (the same answer as a missing one)
    const theirs = await call(t.app, other.s, 'PATCH', `/api/v1/domains/${d.id}`, { greylisting: false });
    expect([theirs.statusCode, theirs.json().code]).toEqual([404, 'NOT_FOUND']);
    expect((await t.prisma.domain.findUniqueOrThrow({ where: { id: d.id } })).greylisting).toBeNull();
    const audit = await t.prisma.auditEvent.findFirst({
      where: { targetId: d.id, action: 'domain.update' },
      orderBy: { createdAt: 'desc' },
    });
    expect(audit?.details).toMatchObject({ greylisting: null });
  });

  test('admin transfers a domain; the new owner sees it, the old one gets 404', async () => {
    const a = await owner();
    const b = await owner();
    const d = (await call(t.app, a.s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` })).json();
    const moved = await call(t.app, admin, 'PATCH', `/api/v1/domains/${d.id}`, { ownerId: b.id });
    expect(moved.json().ownerId).toBe(b.id);
    expect((await call(t.app, a.s, 'GET', `/api/v1/domains/${d.id}`)).statusCode).toBe(404);
    expect((await call(t.app, b.s, 'GET', `/api/v1/domains/${d.id}`)).statusCode).toBe(200);
  });

  test('issue 10, attack 6: a transfer is refused while aliases cross the boundary (ALIASES_CROSS_OWNERS names each link)', async () => {
    const a = await owner();
    const b = await owner();
    const PW = 'mailbox passphrase 1';
    const moving = (await call(t.app, a.s, 'POST', '/api/v1/domains', { name: `${uniqueName('mv')}.example` })).json();
    const staying = (await call(t.app, a.s, 'POST', '/api/v1/domains', { name: `${uniqueName('st')}.example` })).json();
    const inMoving = (await call(t.app, a.s, 'POST', `/api/v1/domains/${moving.id}/mailboxes`, { localPart: 'm', password: PW })).json();
    const inStaying = (await call(t.app, a.s, 'POST', `/api/v1/domains/${staying.id}/mailboxes`, { localPart: 's', password: PW })).json();
    // An alias of the moving domain delivering to the staying one, a catch-all of the staying one delivering into the
    // moving one, and a link inside the moving domain (which moves along and is no obstacle).
    const out = (
      await call(t.app, a.s, 'POST', `/api/v1/domains/${moving.id}/aliases`, {
        localPart: 'out',
        destinations: [inStaying.id, inMoving.id],
      })
    ).json();
    const into = (
      await call(t.app, a.s, 'POST', `/api/v1/domains/${staying.id}/aliases`, { localPart: null, destinations: [inMoving.id] })
    ).json();
    await call(t.app, a.s, 'POST', `/api/v1/domains/${moving.id}/aliases`, { localPart: 'local', destinations: [inMoving.id] });
    const refused = await call(t.app, admin, 'PATCH', `/api/v1/domains/${moving.id}`, { ownerId: b.id, description: 'moved' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'ALIASES_CROSS_OWNERS', details: { count: 2 } });
    expect(refused.json().details.links).toEqual(
      expect.arrayContaining([
        { aliasId: out.id, alias: `out@${moving.name}`, mailboxId: inStaying.id, destination: inStaying.address },
        { aliasId: into.id, alias: `@${staying.name}`, mailboxId: inMoving.id, destination: inMoving.address },
      ]),
    );
    const row = await t.prisma.domain.findUniqueOrThrow({ where: { id: moving.id } });
    expect(row).toMatchObject({ ownerId: a.id, description: null });
    // Once the links are gone the move goes through; b then owns the alias and its mailbox, a keeps nothing of them.
    await call(t.app, a.s, 'PATCH', `/api/v1/aliases/${out.id}`, { destinations: [inMoving.id] });
    await call(t.app, a.s, 'DELETE', `/api/v1/aliases/${into.id}`);
    const moved = await call(t.app, admin, 'PATCH', `/api/v1/domains/${moving.id}`, { ownerId: b.id });
    expect(moved.statusCode, moved.body).toBe(200);
    expect((await call(t.app, b.s, 'GET', `/api/v1/aliases/${out.id}`)).json().destinations).toEqual([
      { mailboxId: inMoving.id, address: inMoving.address },
    ]);
    // And no new link can be made across the new boundary.
    const cross = await call(t.app, b.s, 'PATCH', `/api/v1/aliases/${out.id}`, { destinations: [inStaying.id] });
    expect(cross.statusCode).toBe(400);
    const back = await call(t.app, a.s, 'POST', `/api/v1/domains/${staying.id}/aliases`, {
      localPart: 'back',
      destinations: [inMoving.id],
    });
    expect(back.statusCode).toBe(400);
  });

  test("a transfer checks the new owner's limits: domains, mailboxes, storage (quotas required and fitting)", async () => {
    const a = await owner();
    const PW = 'mailbox passphrase 1';
    const d = (await call(t.app, a.s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` })).json();
    const m1 = (
      await call(t.app, a.s, 'POST', `/api/v1/domains/${d.id}/mailboxes`, { localPart: 'one', password: PW, quotaBytes: 500 })
    ).json();
    const m2 = (
      await call(t.app, a.s, 'POST', `/api/v1/domains/${d.id}/mailboxes`, { localPart: 'two', password: PW, quotaBytes: null })
    ).json();
    const move = (to: string) => call(t.app, admin, 'PATCH', `/api/v1/domains/${d.id}`, { ownerId: to });

    const full = await createUser(t, { maxDomains: 1 });
    await t.prisma.domain.create({ data: { name: `${uniqueName('f')}.example`, ownerId: full.id, verifiedAt: new Date() } });
    expect((await move(full.id)).json().code).toBe('LIMIT_DOMAINS_EXCEEDED');

    const few = await createUser(t, { maxMailboxes: 2 });
    const fewDomain = await t.prisma.domain.create({
      data: { name: `${uniqueName('f')}.example`, ownerId: few.id, verifiedAt: new Date() },
    });
    await t.prisma.mailbox.create({ data: { domainId: fewDomain.id, localPart: 'own', passwordHash: 'x', quotaBytes: 1n } });
    expect((await move(few.id)).json()).toMatchObject({
      code: 'LIMIT_MAILBOXES_EXCEEDED',
      details: { scope: 'owner', limit: 2, current: 1, moving: 2 },
    });

    const small = await createUser(t, { maxStorageBytes: 1000n });
    const smallDomain = await t.prisma.domain.create({
      data: { name: `${uniqueName('s')}.example`, ownerId: small.id, verifiedAt: new Date() },
    });
    await t.prisma.mailbox.create({ data: { domainId: smallDomain.id, localPart: 'own', passwordHash: 'x', quotaBytes: 400n } });
    const unlimited = await move(small.id);
    expect(unlimited.json()).toMatchObject({ code: 'QUOTA_REQUIRED', details: { scope: 'owner', mailboxes: [m2.address] } });
    await call(t.app, a.s, 'PATCH', `/api/v1/mailboxes/${m2.id}`, { quotaBytes: 101 });
    expect((await move(small.id)).json()).toMatchObject({
      code: 'LIMIT_STORAGE_EXCEEDED',
      details: { scope: 'owner', limitBytes: 1000, allocatedBytes: 1001 },
    });
    expect((await t.prisma.domain.findUniqueOrThrow({ where: { id: d.id } })).ownerId).toBe(a.id);
    await call(t.app, a.s, 'PATCH', `/api/v1/mailboxes/${m1.id}`, { quotaBytes: 499 });
    const ok = await move(small.id);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().ownerId).toBe(small.id);
  });

  test('delete: DOMAIN_NOT_EMPTY while mailboxes exist, force deletes mailboxes and messages', async () => {
    const o = await owner();
    const d = (await call(t.app, o.s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` })).json();
    const m = (
      await call(t.app, o.s, 'POST', `/api/v1/domains/${d.id}/mailboxes`, { localPart: 'x', password: 'mailbox passphrase 1' })
    ).json();
    const refused = await call(t.app, o.s, 'DELETE', `/api/v1/domains/${d.id}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'DOMAIN_NOT_EMPTY', details: { mailboxes: 1 } });
    expect((await call(t.app, o.s, 'DELETE', `/api/v1/domains/${d.id}?force=1`)).statusCode).toBe(204);
    expect(await t.prisma.mailbox.findUnique({ where: { id: m.id } })).toBeNull();
    expect((await call(t.app, o.s, 'DELETE', `/api/v1/domains/${d.id}`)).statusCode).toBe(404);
  });
});
