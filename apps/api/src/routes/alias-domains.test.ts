import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  authHeaders,
  call,
  createKey,
  createOwnerWithDomain,
  createTestAppWithAdmin,
  createUser,
  type Credentials,
  type Session,
  type TestContext,
  uniqueName,
} from '../testing.ts';

let t: TestContext;
let admin: Session;
beforeAll(async () => ({ t, admin } = await createTestAppWithAdmin()));
afterAll(async () => t?.close());

const PW = 'alias domain passphrase 7';
const newName = () => `${uniqueName('alias')}.example`;

/** An owner with a verified domain and an alias domain of it (verified by an admin). */
async function ownerWithAliasDomain() {
  const o = await createOwnerWithDomain(t, admin);
  const res = await call(t.app, admin, 'POST', '/api/v1/domains', {
    name: newName(),
    ownerId: o.owner.id,
    verified: true,
    aliasOf: o.domain.id,
  });
  expect(res.statusCode, res.body).toBe(201);
  return { ...o, alias: res.json() as { id: string; name: string } };
}

describe('alias domains', () => {
  test('an owner adds an alias domain of their verified domain: pending until verified, linked both ways', async () => {
    const { s, domain } = await createOwnerWithDomain(t, admin);
    const res = await call(t.app, s, 'POST', '/api/v1/domains', { name: newName(), aliasOf: domain.id });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      aliasOf: { id: domain.id, name: domain.name },
      aliasDomainCount: 0,
      verificationStatus: 'pending',
    });
    expect(res.json().verificationRecord).toMatchObject({ type: 'TXT' });
    const target = await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}`);
    expect(target.json()).toMatchObject({ aliasOf: null, aliasDomainCount: 1 });
    const listed = await call(t.app, s, 'GET', `/api/v1/domains?aliasOf=${domain.id}`);
    expect(listed.json().items.map((d: { id: string }) => d.id)).toEqual([res.json().id]);
    // an ordinary domain says so too
    const plain = await call(t.app, s, 'POST', '/api/v1/domains', { name: newName() });
    expect(plain.json()).toMatchObject({ aliasOf: null, aliasDomainCount: 0 });
  });

  test('mailboxes, aliases and CSV imports are refused in an alias domain (409 DOMAIN_IS_ALIAS names the target)', async () => {
    const { s, domain, alias } = await ownerWithAliasDomain();
    const box = await call(t.app, s, 'POST', `/api/v1/domains/${alias.id}/mailboxes`, { localPart: 'alice', password: PW });
    expect(box.statusCode, box.body).toBe(409);
    expect(box.json()).toMatchObject({ code: 'DOMAIN_IS_ALIAS', details: { aliasOf: { id: domain.id, name: domain.name } } });
    const real = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'alice', password: PW });
    expect(real.statusCode, real.body).toBe(201);
    const al = await call(t.app, s, 'POST', `/api/v1/domains/${alias.id}/aliases`, { localPart: 'sales', destinations: [real.json().id] });
    expect(al.statusCode, al.body).toBe(409);
    expect(al.json().code).toBe('DOMAIN_IS_ALIAS');
    const catchAll = await call(t.app, s, 'POST', `/api/v1/domains/${alias.id}/aliases`, {
      localPart: null,
      destinations: [real.json().id],
    });
    expect(catchAll.json().code).toBe('DOMAIN_IS_ALIAS');
    const imported = await t.app.inject({
      method: 'POST',
      url: `/api/v1/domains/${alias.id}/mailboxes/import`,
      headers: { ...authHeaders(s, 'POST'), 'content-type': 'text/csv' },
      payload: `address,password\nbob,${PW}\n`,
    });
    expect(imported.statusCode, imported.body).toBe(409);
    expect(imported.json().code).toBe('DOMAIN_IS_ALIAS');
    expect(await t.prisma.mailbox.count({ where: { domainId: alias.id } })).toBe(0);
    expect(await t.prisma.alias.count({ where: { domainId: alias.id } })).toBe(0);
  });

  test('abuse: the target must be a verified, non-alias domain of the same owner; another tenant reads as unknown', async () => {
    const me = await ownerWithAliasDomain();
    const other = await createOwnerWithDomain(t, admin);
    const create = (s: Session, body: Record<string, unknown>) => call(t.app, s, 'POST', '/api/v1/domains', { name: newName(), ...body });
    const fieldCode = (res: Awaited<ReturnType<typeof create>>) => [res.statusCode, res.json().code, res.json().errors?.[0]];
    // another tenant's domain, and an id nobody has: the same answer, so ids cannot be probed
    const foreign = await create(me.s, { aliasOf: other.domain.id });
    const missing = await create(me.s, { aliasOf: '01900000-0000-7000-8000-000000000000' });
    expect(fieldCode(foreign)).toEqual([400, 'VALIDATION_FAILED', { path: 'aliasOf', message: 'no such domain', code: 'unknown_domain' }]);
    expect(fieldCode(missing)).toEqual(fieldCode(foreign));
    // an admin naming one owner and another owner's target
    const crossed = await create(admin, { ownerId: me.owner.id, verified: true, aliasOf: other.domain.id });
    expect(fieldCode(crossed)).toEqual([400, 'VALIDATION_FAILED', expect.objectContaining({ path: 'aliasOf', code: 'other_owner' })]);
    // an alias of an alias domain, and a target still pending
    expect(fieldCode(await create(me.s, { aliasOf: me.alias.id }))[2]).toMatchObject({ code: 'alias_chain' });
    const pending = await create(me.s, {});
    expect(pending.statusCode, pending.body).toBe(201);
    expect(fieldCode(await create(me.s, { aliasOf: pending.json().id }))[2]).toMatchObject({ code: 'target_pending' });
    // not an id at all
    expect((await create(me.s, { aliasOf: 'example.com' })).statusCode).toBe(400);
    // the other tenant sees neither the alias domain nor its link
    expect((await call(t.app, other.s, 'GET', `/api/v1/domains/${me.alias.id}`)).statusCode).toBe(404);
    const theirs = await call(t.app, other.s, 'GET', '/api/v1/domains?limit=200');
    expect(theirs.json().items.map((d: { id: string }) => d.id)).not.toContain(me.alias.id);
    expect((await call(t.app, other.s, 'GET', `/api/v1/domains?aliasOf=${me.domain.id}`)).json().items).toEqual([]);
    // nothing was created by the refusals
    expect(await t.prisma.domain.count({ where: { aliasOfId: other.domain.id } })).toBe(0);
  });

  test('abuse: the settings of mailboxes are refused on an alias domain (null is accepted) and the database keeps them null', async () => {
    const { s, domain, alias, owner } = await ownerWithAliasDomain();
    const settings = {
      maxMailboxes: 5,
      maxStorageBytes: 1_000_000,
      defaultQuotaBytes: 1000,
      loginDelaySeconds: 60,
      retentionDays: 'never',
      quotaWarningThresholds: [80],
      greylisting: false,
    };
    const paths = (res: { json(): { errors?: { path: string; code?: string }[] } }) =>
      (res.json().errors ?? []).map((e) => `${e.path} ${e.code}`);
    const all = Object.keys(settings).map((k) => `${k} alias_domain`);
    // at creation (an admin may set every one of them on a domain), and each one alone
    const created = await call(t.app, admin, 'POST', '/api/v1/domains', {
      name: newName(),
      ownerId: owner.id,
      verified: true,
      aliasOf: domain.id,
      ...settings,
    });
    expect([created.statusCode, created.json().code], created.body).toEqual([400, 'VALIDATION_FAILED']);
    expect(paths(created)).toEqual(all);
    expect(created.json().errors[0].message).toContain(domain.name);
    const quota = await call(t.app, s, 'POST', '/api/v1/domains', { name: newName(), aliasOf: domain.id, defaultQuotaBytes: 1000 });
    expect(paths(quota)).toEqual(['defaultQuotaBytes alias_domain']);
    // on an existing alias domain, each one alone and all at once
    for (const [k, v] of Object.entries(settings)) {
      const res = await call(t.app, admin, 'PATCH', `/api/v1/domains/${alias.id}`, { [k]: v });
      expect([res.statusCode, ...paths(res)], res.body).toEqual([400, `${k} alias_domain`]);
    }
    expect(paths(await call(t.app, admin, 'PATCH', `/api/v1/domains/${alias.id}`, settings))).toEqual(all);
    const nulls = Object.fromEntries(Object.keys(settings).map((k) => [k, null]));
    const ok = await call(t.app, admin, 'PATCH', `/api/v1/domains/${alias.id}`, { ...nulls, description: 'second spelling' });
    expect(ok.statusCode, ok.body).toBe(200);
    // the panel's settings form sends the default quota as null
    const panel = await call(t.app, s, 'PATCH', `/api/v1/domains/${alias.id}`, { description: null, defaultQuotaBytes: null });
    expect(panel.statusCode, panel.body).toBe(200);
    // the target takes all of them
    expect((await call(t.app, admin, 'PATCH', `/api/v1/domains/${domain.id}`, settings)).statusCode).toBe(200);
    // nothing was stored, and the database refuses a value written past the API
    const row = await t.prisma.domain.findUniqueOrThrow({ where: { id: alias.id } });
    expect([row.maxMailboxes, row.maxStorageBytes, row.defaultQuotaBytes, row.loginDelaySeconds, row.retentionDays]).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
    expect([row.quotaWarningThresholds, row.greylisting]).toEqual([[], null]);
    await expect(t.prisma.$executeRaw`UPDATE domains SET greylisting = true WHERE id = ${alias.id}::uuid`).rejects.toThrow(
      /domains_alias_no_mailbox_settings/,
    );
    await expect(t.prisma.$executeRaw`UPDATE domains SET login_delay_seconds = 60 WHERE id = ${alias.id}::uuid`).rejects.toThrow(
      /domains_alias_no_mailbox_settings/,
    );
    await expect(t.prisma.$executeRaw`UPDATE domains SET quota_warning_thresholds = '{80}' WHERE id = ${alias.id}::uuid`).rejects.toThrow(
      /domains_alias_no_mailbox_settings/,
    );
  });

  test('an alias domain is pointed at another domain of its owner, or made a domain of its own; one with mailboxes does not become one', async () => {
    const { s, domain, alias, owner } = await ownerWithAliasDomain();
    const second = await call(t.app, admin, 'POST', '/api/v1/domains', { name: newName(), ownerId: owner.id, verified: true });
    const b = second.json() as { id: string; name: string };
    const moved = await call(t.app, s, 'PATCH', `/api/v1/domains/${alias.id}`, { aliasOf: b.id });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json().aliasOf).toEqual({ id: b.id, name: b.name });
    expect((await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}`)).json().aliasDomainCount).toBe(0);
    expect((await call(t.app, s, 'GET', `/api/v1/domains?aliasOf=${b.id}`)).json().items.map((d: { id: string }) => d.id)).toEqual([
      alias.id,
    ]);
    const audit = await t.prisma.auditEvent.findFirst({
      where: { action: 'domain.update', targetId: alias.id },
      orderBy: { createdAt: 'desc' },
    });
    expect(audit?.details).toMatchObject({ aliasOf: b.id, previousAliasOf: { id: domain.id, name: domain.name }, aliasOfName: b.name });
    // naming the target it has already is no change
    expect((await call(t.app, s, 'PATCH', `/api/v1/domains/${alias.id}`, { aliasOf: b.id })).json().aliasOf.id).toBe(b.id);
    // a domain with a mailbox does not become an alias domain; null on it changes nothing
    await t.prisma.mailbox.create({ data: { domainId: domain.id, localPart: 'kept', passwordHash: 'x' } });
    const plain = await call(t.app, s, 'PATCH', `/api/v1/domains/${domain.id}`, { aliasOf: b.id });
    expect([plain.statusCode, plain.json().code, plain.json().details], plain.body).toEqual([
      409,
      'DOMAIN_NOT_EMPTY',
      { mailboxes: 1, aliases: 0, aliasDomains: 0 },
    ]);
    const nothing = await call(t.app, s, 'PATCH', `/api/v1/domains/${domain.id}`, { aliasOf: null });
    expect([nothing.statusCode, nothing.json().aliasOf]).toEqual([200, null]);
    // made a domain of its own: it takes mailboxes and settings from now on
    const own = await call(t.app, s, 'PATCH', `/api/v1/domains/${alias.id}`, { aliasOf: null, defaultQuotaBytes: 5000 });
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json()).toMatchObject({ aliasOf: null, defaultQuotaBytes: 5000 });
    expect((await call(t.app, s, 'GET', `/api/v1/domains/${b.id}`)).json().aliasDomainCount).toBe(0);
    const box = await call(t.app, s, 'POST', `/api/v1/domains/${alias.id}/mailboxes`, { localPart: 'alice', password: PW });
    expect(box.statusCode, box.body).toBe(201);
    // and, with a mailbox, it cannot be turned back
    const back = await call(t.app, s, 'PATCH', `/api/v1/domains/${alias.id}`, { aliasOf: domain.id });
    expect([back.statusCode, back.json().code]).toEqual([409, 'DOMAIN_NOT_EMPTY']);
  });

  test('an empty domain becomes an alias domain: its settings of mailboxes are cleared, addresses go to the target', async () => {
    const { s, domain, owner } = await createOwnerWithDomain(t, admin);
    const made = await call(t.app, s, 'POST', '/api/v1/domains', {
      name: newName(),
      defaultQuotaBytes: 5000,
      loginDelaySeconds: 60,
      quotaWarningThresholds: [90],
      greylisting: false,
    });
    expect(made.statusCode, made.body).toBe(201);
    const spare = made.json() as { id: string; name: string };
    const converted = await call(t.app, s, 'PATCH', `/api/v1/domains/${spare.id}`, { aliasOf: domain.id, description: 'old name' });
    expect(converted.statusCode, converted.body).toBe(200);
    expect(converted.json()).toMatchObject({
      aliasOf: { id: domain.id, name: domain.name },
      description: 'old name',
      defaultQuotaBytes: null,
      loginDelaySeconds: null,
      quotaWarningThresholds: null,
      greylisting: null,
    });
    const audit = await t.prisma.auditEvent.findFirst({
      where: { action: 'domain.update', targetId: spare.id },
      orderBy: { createdAt: 'desc' },
    });
    expect(audit?.details).toMatchObject({ aliasOf: domain.id, convertedToAlias: true, previousAliasOf: null, aliasOfName: domain.name });
    const box = await call(t.app, s, 'POST', `/api/v1/domains/${spare.id}/mailboxes`, { localPart: 'alice', password: PW });
    expect([box.statusCode, box.json().code]).toEqual([409, 'DOMAIN_IS_ALIAS']);
    // a domain with aliases or alias domains of its own stays a domain; nor does one that is moving to another owner
    const withAlias = (await call(t.app, s, 'POST', '/api/v1/domains', { name: newName() })).json() as { id: string };
    const mb = await t.prisma.mailbox.create({ data: { domainId: domain.id, localPart: 'dest', passwordHash: 'x' } });
    await t.prisma.alias.create({
      data: { domainId: withAlias.id, localPart: 'sales', destinations: { create: [{ mailboxId: mb.id }] } },
    });
    const refused = await call(t.app, s, 'PATCH', `/api/v1/domains/${withAlias.id}`, { aliasOf: domain.id });
    expect([refused.statusCode, refused.json().details]).toEqual([409, { mailboxes: 0, aliases: 1, aliasDomains: 0 }]);
    const third = await call(t.app, admin, 'POST', '/api/v1/domains', { name: newName(), ownerId: owner.id, verified: true });
    const target = await call(t.app, s, 'PATCH', `/api/v1/domains/${domain.id}`, { aliasOf: third.json().id });
    expect([target.statusCode, target.json().details]).toEqual([409, { mailboxes: 1, aliases: 0, aliasDomains: 1 }]);
    const other = await createUser(t);
    const empty = (await call(t.app, s, 'POST', '/api/v1/domains', { name: newName() })).json() as { id: string };
    const moving = await call(t.app, admin, 'PATCH', `/api/v1/domains/${empty.id}`, { aliasOf: domain.id, ownerId: other.id });
    expect([moving.statusCode, moving.json().errors?.[0]?.code]).toEqual([400, 'with_transfer']);
    expect((await t.prisma.domain.findUniqueOrThrow({ where: { id: empty.id } })).ownerId).toBe(owner.id);
  });

  test('abuse: an owner cannot clear limits an administrator set by making the domain an alias domain; the admin can', async () => {
    const { s, domain, owner } = await createOwnerWithDomain(t, admin);
    const limited = await call(t.app, admin, 'POST', '/api/v1/domains', {
      name: newName(),
      ownerId: owner.id,
      verified: true,
      maxMailboxes: 3,
    });
    const id = (limited.json() as { id: string }).id;
    const mine = await call(t.app, s, 'PATCH', `/api/v1/domains/${id}`, { aliasOf: domain.id });
    expect([mine.statusCode, mine.json().code, mine.json().errors?.[0]?.code]).toEqual([403, 'FORBIDDEN', 'admin_only']);
    expect((await t.prisma.domain.findUniqueOrThrow({ where: { id } })).maxMailboxes).toBe(3);
    const theirs = await call(t.app, admin, 'PATCH', `/api/v1/domains/${id}`, { aliasOf: domain.id });
    expect([theirs.statusCode, theirs.json().maxMailboxes]).toEqual([200, null]);
  });

  test('abuse: a mailbox or alias created while the domain becomes an alias domain is refused under the tenant lock', async () => {
    const { s, domain, owner } = await createOwnerWithDomain(t, admin);
    const dest = await t.prisma.mailbox.create({ data: { domainId: domain.id, localPart: 'dest', passwordHash: 'x' } });
    // requests waiting for this owner's tenant lock (an advisory lock: its 64-bit key is classid:objid)
    const lockWaiters = async () =>
      (
        await t.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM pg_locks
          WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND ((classid::bigint << 32) | objid::bigint) = hashtextextended(${`tenant:${owner.id}`}, 0)`
      )[0]!.n;
    for (const create of [
      (id: string) => call(t.app, s, 'POST', `/api/v1/domains/${id}/mailboxes`, { localPart: 'late', password: PW }),
      (id: string) => call(t.app, s, 'POST', `/api/v1/domains/${id}/aliases`, { localPart: 'late', destinations: [dest.id] }),
      (id: string) =>
        t.app.inject({
          method: 'POST',
          url: `/api/v1/domains/${id}/mailboxes/import`,
          headers: { ...authHeaders(s, 'POST'), 'content-type': 'text/csv' },
          payload: `address,password\nlate,${PW}\n`,
        }),
    ]) {
      const body = { name: newName(), ownerId: owner.id, verified: true };
      const racing = (await call(t.app, admin, 'POST', '/api/v1/domains', body)).json() as { id: string };
      let created: Awaited<ReturnType<typeof create>> | undefined;
      // the conversion holds the owner's tenant lock, as PATCH does, while the creation has passed its first check
      await t.prisma.$transaction(
        async (tx) => {
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`tenant:${owner.id}`}, 0))`;
          const pending = create(racing.id).then((r) => (created = r));
          for (let i = 0; i < 200 && (await lockWaiters()) === 0n; i++) await new Promise((r) => setTimeout(r, 25));
          expect(await lockWaiters()).toBeGreaterThan(0n);
          await tx.$executeRaw`UPDATE domains SET alias_of_id = ${domain.id}::uuid WHERE id = ${racing.id}::uuid`;
          void pending;
        },
        { timeout: 20_000 },
      );
      for (let i = 0; i < 200 && !created; i++) await new Promise((r) => setTimeout(r, 25));
      expect([created?.statusCode, created?.json().code], created?.body).toEqual([409, 'DOMAIN_IS_ALIAS']);
    }
    expect(await t.prisma.mailbox.count({ where: { domain: { aliasOfId: domain.id } } })).toBe(0);
    expect(await t.prisma.alias.count({ where: { domain: { aliasOfId: domain.id } } })).toBe(0);
  });

  test('abuse: re-pointing follows the rules of creation; another tenant, itself, a chain, a pending domain or a hidden one are refused', async () => {
    const me = await ownerWithAliasDomain();
    const other = await createOwnerWithDomain(t, admin);
    const point = (sess: Credentials, aliasOf: string) => call(t.app, sess, 'PATCH', `/api/v1/domains/${me.alias.id}`, { aliasOf });
    const code = async (res: ReturnType<typeof point>) => {
      const r = await res;
      return [r.statusCode, r.json().errors?.[0]?.path, r.json().errors?.[0]?.code];
    };
    const foreign = await code(point(me.s, other.domain.id));
    expect(foreign).toEqual([400, 'aliasOf', 'unknown_domain']);
    expect(await code(point(me.s, '01900000-0000-7000-8000-000000000000'))).toEqual(foreign);
    // an admin sees the other tenant's domain, and still cannot join the two tenants
    expect(await code(point(admin, other.domain.id))).toEqual([400, 'aliasOf', 'other_owner']);
    expect(await code(point(me.s, me.alias.id))).toEqual([400, 'aliasOf', 'alias_self']);
    const sibling = await call(t.app, me.s, 'POST', '/api/v1/domains', { name: newName(), aliasOf: me.domain.id });
    expect(await code(point(me.s, sibling.json().id))).toEqual([400, 'aliasOf', 'alias_chain']);
    const pending = await call(t.app, me.s, 'POST', '/api/v1/domains', { name: newName() });
    expect(await code(point(me.s, pending.json().id))).toEqual([400, 'aliasOf', 'target_pending']);
    // a key restricted to the alias domain cannot name a domain it does not see, even its owner's
    const second = await call(t.app, admin, 'POST', '/api/v1/domains', { name: newName(), ownerId: me.owner.id, verified: true });
    const aliasKey = { key: await createKey(t.prisma, me.owner.id, ['domains:read', 'domains:write'], [me.alias.id]) };
    expect(await code(point(aliasKey, second.json().id))).toEqual([400, 'aliasOf', 'unknown_domain']);
    // moving it and transferring it at once is refused as a transfer of an alias domain
    const both = await call(t.app, admin, 'PATCH', `/api/v1/domains/${me.alias.id}`, { aliasOf: null, ownerId: other.owner.id });
    expect([both.statusCode, both.json().code]).toEqual([409, 'DOMAIN_IS_ALIAS']);
    // none of it changed the link
    expect((await t.prisma.domain.findUniqueOrThrow({ where: { id: me.alias.id } })).aliasOfId).toBe(me.domain.id);
  });

  test('a transfer moves the target with its alias domains (counted in the limit); an alias domain alone is refused', async () => {
    const { domain, alias, owner } = await ownerWithAliasDomain();
    const alone = await call(t.app, admin, 'PATCH', `/api/v1/domains/${alias.id}`, { ownerId: (await createUser(t)).id });
    expect(alone.statusCode, alone.body).toBe(409);
    expect(alone.json()).toMatchObject({ code: 'DOMAIN_IS_ALIAS', errors: [{ path: 'ownerId', code: 'alias_domain' }] });
    // a new owner with room for one domain cannot take a domain that brings an alias domain with it
    const small = await createUser(t, { maxDomains: 1 });
    const over = await call(t.app, admin, 'PATCH', `/api/v1/domains/${domain.id}`, { ownerId: small.id });
    expect(over.statusCode, over.body).toBe(422);
    expect(over.json()).toMatchObject({ code: 'LIMIT_DOMAINS_EXCEEDED', details: { limit: 1, current: 0, moving: 2 } });
    const next = await createUser(t);
    const moved = await call(t.app, admin, 'PATCH', `/api/v1/domains/${domain.id}`, { ownerId: next.id });
    expect(moved.statusCode, moved.body).toBe(200);
    const after = await t.prisma.domain.findUniqueOrThrow({ where: { id: alias.id } });
    expect(after).toMatchObject({ ownerId: next.id, aliasOfId: domain.id });
    const audit = await t.prisma.auditEvent.findMany({ where: { action: 'domain.transfer', targetId: { in: [domain.id, alias.id] } } });
    expect(audit.map((a) => a.targetId).sort()).toEqual([domain.id, alias.id].sort());
    expect(audit.every((a) => a.ownerId === owner.id)).toBe(true);
  });

  test('a transfer is refused when the new owner already claims the name of a pending alias domain', async () => {
    const { s, domain } = await createOwnerWithDomain(t, admin);
    const pending = await call(t.app, s, 'POST', '/api/v1/domains', { name: newName(), aliasOf: domain.id });
    const alias = pending.json() as { id: string; name: string };
    const next = await createUser(t);
    const claim = await call(t.app, admin, 'POST', '/api/v1/domains', { name: alias.name, ownerId: next.id });
    expect(claim.statusCode, claim.body).toBe(201);
    const res = await call(t.app, admin, 'PATCH', `/api/v1/domains/${domain.id}`, { ownerId: next.id });
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json()).toMatchObject({ code: 'ALREADY_EXISTS', errors: [{ path: 'ownerId', code: 'claimed' }] });
    expect((await t.prisma.domain.findUniqueOrThrow({ where: { id: alias.id } })).ownerId).not.toBe(next.id);
  });

  test('deleting a target with alias domains needs force=true, and deletes (and audits) them too', async () => {
    const { s, domain, alias } = await ownerWithAliasDomain();
    const refused = await call(t.app, s, 'DELETE', `/api/v1/domains/${domain.id}`);
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'DOMAIN_NOT_EMPTY', details: { mailboxes: 0, aliasDomains: 1 } });
    // the alias domain itself goes on its own
    const other = await ownerWithAliasDomain();
    expect((await call(t.app, other.s, 'DELETE', `/api/v1/domains/${other.alias.id}`)).statusCode).toBe(204);
    expect((await call(t.app, other.s, 'GET', `/api/v1/domains/${other.domain.id}`)).json().aliasDomainCount).toBe(0);
    const forced = await call(t.app, s, 'DELETE', `/api/v1/domains/${domain.id}?force=true`);
    expect(forced.statusCode, forced.body).toBe(204);
    expect(await t.prisma.domain.count({ where: { id: { in: [domain.id, alias.id] } } })).toBe(0);
    const audit = await t.prisma.auditEvent.findFirst({ where: { action: 'domain.delete', targetId: alias.id } });
    expect(audit?.details).toMatchObject({ name: alias.name, aliasOfId: domain.id });
  });

  test('an alias domain publishes no POP3 SRV records, and its client settings sign in at the target', async () => {
    const { s, domain, alias } = await ownerWithAliasDomain();
    const dns = await call(t.app, s, 'GET', `/api/v1/domains/${alias.id}/dns`);
    expect(dns.statusCode, dns.body).toBe(200);
    expect(dns.json().records.map((r: { purpose: string }) => r.purpose)).toEqual(['mx', 'autoconfig', 'autodiscover', 'dmarc']);
    expect(dns.json().notes[0]).toContain(`name@${domain.name}`);
    const targetDns = await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}/dns`);
    expect(targetDns.json().records.map((r: { purpose: string }) => r.purpose)).toContain('pop3s-srv');
    // Thunderbird's and Outlook's lookups: an alias domain's address signs in as the same name at the target
    const thunderbird = (address: string) =>
      t.app.inject({ method: 'GET', url: `/api/autoconfig/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(address)}` });
    const outlook = (address: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/autodiscover/autodiscover.xml',
        headers: { 'content-type': 'text/xml' },
        payload: `<Autodiscover><Request><EMailAddress>${address}</EMailAddress></Request></Autodiscover>`,
      });
    expect((await thunderbird(`alice@${domain.name}`)).body).toContain('<username>%EMAILADDRESS%</username>');
    const viaAlias = await thunderbird(`alice@${alias.name}`);
    expect(viaAlias.statusCode).toBe(200);
    expect(viaAlias.body).toContain(`<username>%EMAILLOCALPART%@${domain.name}</username>`);
    expect(viaAlias.body).not.toContain('%EMAILADDRESS%');
    expect((await outlook(`Alice@${alias.name}`)).body).toContain(`<LoginName>alice@${domain.name}</LoginName>`);
    // a disabled target hosts none of its alias domains' addresses either
    await call(t.app, s, 'PATCH', `/api/v1/domains/${domain.id}`, { active: false });
    expect((await thunderbird(`alice@${alias.name}`)).statusCode).toBe(404);
    expect((await outlook(`alice@${alias.name}`)).statusCode).toBe(404);
  });

  test('abuse: a key restricted to the target does not see its alias domains; one restricted to the alias domain cannot reach the target', async () => {
    const { owner, domain, alias } = await ownerWithAliasDomain();
    const scopes = ['domains:read', 'domains:write', 'mailboxes:read', 'mailboxes:write', 'aliases:write'] as const;
    const targetKey = { key: await createKey(t.prisma, owner.id, [...scopes], [domain.id]) };
    expect((await call(t.app, targetKey, 'GET', `/api/v1/domains?aliasOf=${domain.id}`)).json().items).toEqual([]);
    expect((await call(t.app, targetKey, 'GET', `/api/v1/domains/${alias.id}`)).statusCode).toBe(404);
    expect((await call(t.app, targetKey, 'DELETE', `/api/v1/domains/${alias.id}`)).statusCode).toBe(404);
    // restricted keys create no domains, alias domains included
    const made = await call(t.app, targetKey, 'POST', '/api/v1/domains', { name: newName(), aliasOf: domain.id });
    expect([made.statusCode, made.json().code]).toEqual([403, 'FORBIDDEN']);
    // the alias domain's key sees where its mail goes (the same owner's domain), and nothing more of it
    const aliasKey = { key: await createKey(t.prisma, owner.id, [...scopes], [alias.id]) };
    expect((await call(t.app, aliasKey, 'GET', `/api/v1/domains/${alias.id}`)).json().aliasOf).toEqual({
      id: domain.id,
      name: domain.name,
    });
    expect((await call(t.app, aliasKey, 'GET', `/api/v1/domains/${domain.id}`)).statusCode).toBe(404);
    expect((await call(t.app, aliasKey, 'GET', `/api/v1/domains/${domain.id}/mailboxes`)).statusCode).toBe(404);
    const box = await call(t.app, aliasKey, 'POST', `/api/v1/domains/${alias.id}/mailboxes`, { localPart: 'mallory', password: PW });
    expect(box.json().code).toBe('DOMAIN_IS_ALIAS');
    expect(await t.prisma.mailbox.count({ where: { domainId: { in: [domain.id, alias.id] } } })).toBe(0);
  });
});
