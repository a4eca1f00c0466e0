import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  authHeaders,
  call,
  createKey,
  createOwnerWithDomain,
  createTestAppWithAdmin,
  createUser,
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
