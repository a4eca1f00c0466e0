/**
 * Tenant-isolation matrix: every endpoint, tried by every kind of principal against owner A's resources.
 * Expected outcomes come from the access rules stated in the issues, not from the implementation:
 *  - admin: everything; owner A: everything under A except /owners and admin-only domain fields (limits, owner);
 *    owner B: A's resources do not exist (404);
 *  - mailbox user: only /me and their own mailbox's settings (403 elsewhere; another mailbox's settings do not exist
 *    for them: 404);
 *  - API keys: the user's rights narrowed to the key's scopes (403 without the scope; a write scope implies read)
 *    and, for a domain-restricted key (admin's or owner's), to its domains: other domains, owners and every other key
 *    do not exist for it (404) or are refused (403 for admin-only operations, whatever its scopes); within its
 *    domains it has at most an owner's rights (no limits, no transfer, no alias destination outside them).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultApiKeyScopes, generateApiKey } from '@mailroom/core';
import { API_KEY_SCOPES, type ApiKeyScope } from '@mailroom/core/schemas';
import { newId } from '@mailroom/db';
import { call, createKey, createTestApp, createUser, login, type Credentials, type TestContext, uniqueName } from './testing.ts';

interface Who {
  name: string;
  /** Whose rights: an admin, owner A, owner B, or a mailbox user of A's domain. */
  user: 'admin' | 'A' | 'B' | 'mailbox';
  creds: Credentials;
  /** API keys only. */
  scopes?: readonly ApiKeyScope[];
  /** A key restricted to domain A, to another domain of A, or to a domain of B. */
  restrictedTo?: 'A' | 'otherA' | 'B';
}
type Outcome = 'ok' | 'empty' | 400 | 403 | 404;

interface Op {
  name: string;
  scope: ApiKeyScope;
  adminOnly?: boolean;
  /** What the op reaches: domain A (default), another domain of A made for the op, or another key of owner A. */
  target?: 'domainA' | 'otherDomainOfA' | 'keyOfA';
  /** Sets admin-only domain fields (limits, owner). */
  adminFields?: boolean;
  /** Names a destination mailbox in another domain of A (refused to keys restricted to domain A: 400 unknown mailbox). */
  destinationOutside?: boolean;
  /** A mailbox's own settings, which its user manages too: the matrix's mailbox user (of another mailbox) gets 404. */
  mailboxOwned?: boolean;
  /** list filtered to the tenant: B sees an empty list instead of 404 */
  filtered?: boolean;
  run(who: Who): Promise<{ status: number; body: unknown }>;
}

function has(scopes: readonly ApiKeyScope[], needed: ApiKeyScope): boolean {
  return scopes.includes(needed) || (needed.endsWith(':read') && scopes.includes(needed.replace(':read', ':write') as ApiKeyScope));
}

function expected(op: Op, who: Who): Outcome {
  if (who.user === 'mailbox') return op.mailboxOwned ? 404 : 403;
  if (who.scopes && !has(who.scopes, op.scope)) return 403;
  const admin = who.user === 'admin';
  const restricted = who.restrictedTo !== undefined;
  if (op.adminOnly) return admin && !restricted ? 'ok' : 403;
  const hidden: Outcome = op.filtered ? 'empty' : 404;
  if (!admin && who.user !== 'A') return hidden;
  const target = op.target ?? 'domainA';
  // A restricted key sees no other key, and no domain but its own.
  if (target === 'keyOfA') return restricted ? hidden : 'ok';
  if (restricted && !(who.restrictedTo === 'A' && target === 'domainA')) return hidden;
  if (op.adminFields && (!admin || restricted)) return 403;
  if (op.destinationOutside && restricted) return 400;
  return 'ok';
}

let t: TestContext;
const whos: Who[] = [];
let ownerA: { id: string };
let ownerB: { id: string };
let domainA: { id: string; name: string };
let mailboxA: { id: string };
let mailboxOtherA: { id: string };
let aliasA: { id: string };
let ruleA: { id: string; pattern: string };
let mailboxRuleA: { id: string; pattern: string };
let keyOfA: { id: string };
let mtaStsFlip = false;
let hash: string;
const PW = 'isolation passphrase 1';

async function insertMailbox(domainId: string, localPart = uniqueName('m')): Promise<string> {
  const id = newId();
  await t.prisma.mailbox.create({ data: { id, domainId, localPart, passwordHash: hash } });
  return id;
}

/** A key row written directly, as keys created before restricted keys lost owners:* were: every scope and domains. */
async function insertLegacyKey(userId: string, domainIds: string[]): Promise<string> {
  const g = generateApiKey();
  await t.prisma.apiKey.create({
    data: { userId, name: 'legacy', prefix: g.prefix, secretHash: g.secretHash, scopes: [...API_KEY_SCOPES], domainIds },
  });
  return g.key;
}

beforeAll(async () => {
  t = await createTestApp();
  hash = await t.hasher.hash(PW);
  const admin = await createUser(t, { role: 'ADMIN' });
  const a = await createUser(t);
  const b = await createUser(t);
  ownerA = a;
  ownerB = b;
  const d = await t.prisma.domain.create({ data: { name: `${uniqueName('a')}.example`, ownerId: a.id, verifiedAt: new Date() } });
  domainA = d;
  const otherA = await t.prisma.domain.create({ data: { name: `${uniqueName('a2')}.example`, ownerId: a.id, verifiedAt: new Date() } });
  const domainB = await t.prisma.domain.create({ data: { name: `${uniqueName('b')}.example`, ownerId: b.id, verifiedAt: new Date() } });
  mailboxA = { id: await insertMailbox(d.id, 'target') };
  // someone passed mailbox A's password but not its second factor (GET /password-warnings lists it; a minute ahead, so
  // after the password set at the mailbox's creation)
  await t.prisma.mailboxSignIn.create({
    data: {
      id: newId(),
      mailboxId: mailboxA.id,
      service: 'panel',
      result: 'wrong_second_factor',
      clientAddress: '192.0.2.66',
      mechanism: 'totp',
      lastAt: new Date(Date.now() + 60_000),
    },
  });
  mailboxOtherA = { id: await insertMailbox(otherA.id, 'elsewhere') };
  await insertMailbox(d.id, 'user');
  aliasA = await t.prisma.alias.create({
    data: { domainId: d.id, localPart: 'alias', destinations: { create: [{ mailboxId: mailboxA.id }] } },
  });
  ruleA = await t.prisma.senderRule.create({ data: { domainId: domainA.id, pattern: 'blocked.example', action: 'block' } });
  mailboxRuleA = await t.prisma.senderRule.create({
    data: { domainId: domainA.id, mailboxId: mailboxA.id, pattern: 'blocked.example', action: 'block' },
  });
  keyOfA = await t.prisma.apiKey.findFirstOrThrow({ where: { id: await createKeyRow(a.id) } });
  // Audit events about domain A exist (written by owner A).
  await t.prisma.auditEvent.create({
    data: {
      actorType: 'user',
      actorId: a.id,
      actorLabel: a.email,
      ownerId: a.id,
      action: 'domain.update',
      targetType: 'domain',
      targetId: d.id,
      details: { domainId: d.id },
    },
  });

  whos.push({ name: 'admin', user: 'admin', creds: await login(t.app, admin.email, admin.password) });
  whos.push({ name: 'owner A', user: 'A', creds: await login(t.app, a.email, a.password) });
  whos.push({ name: 'owner B', user: 'B', creds: await login(t.app, b.email, b.password) });
  whos.push({ name: 'mailbox user', user: 'mailbox', creds: await login(t.app, `user@${d.name}`, PW) });
  for (const scope of API_KEY_SCOPES) {
    const adminScope = scope.startsWith('owners:');
    whos.push({
      name: `${adminScope ? 'admin' : 'owner A'} key [${scope}]`,
      user: adminScope ? 'admin' : 'A',
      scopes: [scope],
      creds: { key: await createKey(t.prisma, adminScope ? admin.id : a.id, [scope]) },
    });
  }
  const ownerScopes = defaultApiKeyScopes('OWNER', false);
  const restrictedScopes = defaultApiKeyScopes('ADMIN', true);
  const key = async (userId: string, scopes: ApiKeyScope[], domainIds: string[] = []) => ({
    key: await createKey(t.prisma, userId, scopes, domainIds),
  });
  whos.push({ name: 'owner B key [all]', user: 'B', scopes: ownerScopes, creds: await key(b.id, ownerScopes) });
  whos.push({
    name: 'owner A key restricted to another domain [all]',
    user: 'A',
    scopes: ownerScopes,
    restrictedTo: 'otherA',
    creds: await key(a.id, ownerScopes, [otherA.id]),
  });
  whos.push({
    name: 'owner A key restricted to domain A [all]',
    user: 'A',
    scopes: ownerScopes,
    restrictedTo: 'A',
    creds: await key(a.id, ownerScopes, [d.id]),
  });
  whos.push({
    name: 'admin key restricted to domain A [all]',
    user: 'admin',
    scopes: restrictedScopes,
    restrictedTo: 'A',
    creds: await key(admin.id, restrictedScopes, [d.id]),
  });
  whos.push({
    name: "admin key restricted to B's domain [all]",
    user: 'admin',
    scopes: restrictedScopes,
    restrictedTo: 'B',
    creds: await key(admin.id, restrictedScopes, [domainB.id]),
  });
  const legacy = { user: 'admin' as const, scopes: API_KEY_SCOPES };
  whos.push({
    ...legacy,
    name: 'legacy admin key restricted to domain A [every scope, owners:* too]',
    restrictedTo: 'A',
    creds: { key: await insertLegacyKey(admin.id, [d.id]) },
  });
  whos.push({
    ...legacy,
    name: "legacy admin key restricted to B's domain [every scope, owners:* too]",
    restrictedTo: 'B',
    creds: { key: await insertLegacyKey(admin.id, [domainB.id]) },
  });
});
afterAll(async () => t?.close());

async function createKeyRow(userId: string): Promise<string> {
  const row = await t.prisma.apiKey.create({
    data: {
      userId,
      name: 'target',
      prefix: uniqueName('p').slice(0, 12).toLowerCase().padEnd(12, '0'),
      secretHash: 'x'.repeat(64),
      scopes: ['domains:read'],
    },
  });
  return row.id;
}

const ops: Op[] = [
  { name: 'GET /owners', scope: 'owners:read', adminOnly: true, run: (w) => req(w, 'GET', '/api/v1/owners') },
  { name: 'GET /owners/{A}', scope: 'owners:read', adminOnly: true, run: (w) => req(w, 'GET', `/api/v1/owners/${ownerA.id}`) },
  {
    // before any op that sets mailbox A's password (which takes it off the list)
    name: 'GET /password-warnings (lists mailbox A?)',
    scope: 'mailboxes:read',
    filtered: true,
    run: (w) => listContains(w, '/api/v1/password-warnings', mailboxA.id),
  },
  {
    name: 'GET /owners/{A}/sign-ins',
    scope: 'owners:read',
    adminOnly: true,
    run: (w) => req(w, 'GET', `/api/v1/owners/${ownerA.id}/sign-ins`),
  },
  {
    name: 'POST /owners',
    scope: 'owners:write',
    adminOnly: true,
    run: (w) => req(w, 'POST', '/api/v1/owners', { email: `${uniqueName('n')}@example.com`, password: PW }),
  },
  {
    name: 'PATCH /owners/{A}',
    scope: 'owners:write',
    adminOnly: true,
    run: (w) => req(w, 'PATCH', `/api/v1/owners/${ownerA.id}`, { displayName: `by ${w.name}` }),
  },
  {
    name: 'DELETE /owners/{X}',
    scope: 'owners:write',
    adminOnly: true,
    run: async (w) => {
      const x = await createUser(t);
      const r = await req(w, 'DELETE', `/api/v1/owners/${x.id}`);
      const still = await t.prisma.user.count({ where: { id: x.id } });
      expect(still, `${w.name}: owner deleted iff allowed`).toBe(r.status === 204 ? 0 : 1);
      return r;
    },
  },
  {
    name: 'GET /domains (lists A’s domain?)',
    scope: 'domains:read',
    filtered: true,
    run: (w) => listContains(w, `/api/v1/domains?q=${domainA.name}`, domainA.id),
  },
  { name: 'GET /domains/{A}', scope: 'domains:read', run: (w) => req(w, 'GET', `/api/v1/domains/${domainA.id}`) },
  { name: 'GET /domains/{A}/mta-sts', scope: 'domains:read', run: (w) => req(w, 'GET', `/api/v1/domains/${domainA.id}/mta-sts`) },
  {
    name: 'PUT /domains/{A}/mta-sts',
    scope: 'domains:write',
    // testing and none alternate, so every allowed caller changes the mode (none of them needs DNS)
    run: (w) => {
      mtaStsFlip = !mtaStsFlip;
      return req(w, 'PUT', `/api/v1/domains/${domainA.id}/mta-sts`, { mode: mtaStsFlip ? 'testing' : 'none' });
    },
  },
  {
    name: 'PATCH /domains/{A}',
    scope: 'domains:write',
    run: (w) => req(w, 'PATCH', `/api/v1/domains/${domainA.id}`, { description: `by ${w.name}` }),
  },
  {
    name: 'PATCH /domains/{A} limits',
    scope: 'domains:write',
    adminFields: true,
    run: (w) => req(w, 'PATCH', `/api/v1/domains/${domainA.id}`, { maxMailboxes: null }),
  },
  {
    name: 'PATCH /domains/{X of A} ownerId=B (transfer)',
    scope: 'domains:write',
    target: 'otherDomainOfA',
    adminFields: true,
    run: async (w) => {
      const x = await t.prisma.domain.create({ data: { verifiedAt: new Date(), name: `${uniqueName('x')}.example`, ownerId: ownerA.id } });
      const r = await req(w, 'PATCH', `/api/v1/domains/${x.id}`, { ownerId: ownerB.id });
      const owner = (await t.prisma.domain.findUniqueOrThrow({ where: { id: x.id } })).ownerId;
      expect(owner, `${w.name}: domain moved iff allowed`).toBe(r.status === 200 ? ownerB.id : ownerA.id);
      return r;
    },
  },
  {
    name: 'DELETE /domains/{X of A}',
    scope: 'domains:write',
    target: 'otherDomainOfA',
    run: async (w) => {
      const x = await t.prisma.domain.create({ data: { name: `${uniqueName('x')}.example`, ownerId: ownerA.id, verifiedAt: new Date() } });
      const r = await req(w, 'DELETE', `/api/v1/domains/${x.id}`);
      expect(await t.prisma.domain.count({ where: { id: x.id } }), `${w.name}: domain deleted iff allowed`).toBe(r.status === 204 ? 0 : 1);
      return r;
    },
  },
  { name: 'GET /domains/{A}/mailboxes', scope: 'mailboxes:read', run: (w) => req(w, 'GET', `/api/v1/domains/${domainA.id}/mailboxes`) },
  {
    name: 'POST /domains/{A}/mailboxes',
    scope: 'mailboxes:write',
    run: (w) => req(w, 'POST', `/api/v1/domains/${domainA.id}/mailboxes`, { localPart: uniqueName('new'), password: PW }),
  },
  { name: 'GET /mailboxes/{A}', scope: 'mailboxes:read', run: (w) => req(w, 'GET', `/api/v1/mailboxes/${mailboxA.id}`) },
  {
    name: 'GET /mailboxes/{A}/sign-ins',
    scope: 'mailboxes:read',
    mailboxOwned: true,
    run: (w) => req(w, 'GET', `/api/v1/mailboxes/${mailboxA.id}/sign-ins`),
  },
  {
    name: 'GET /mailboxes/{A}/mobileconfig',
    scope: 'mailboxes:read',
    run: (w) => reqProfile(w, 'GET', `/api/v1/mailboxes/${mailboxA.id}/mobileconfig`),
  },
  {
    name: 'POST /mailboxes/{A}/mobileconfig',
    scope: 'mailboxes:read',
    run: (w) => reqProfile(w, 'POST', `/api/v1/mailboxes/${mailboxA.id}/mobileconfig`, { password: PW }),
  },
  {
    name: 'PATCH /mailboxes/{A}',
    scope: 'mailboxes:write',
    run: (w) => req(w, 'PATCH', `/api/v1/mailboxes/${mailboxA.id}`, { displayName: `by ${w.name}` }),
  },
  {
    name: 'PUT /mailboxes/{A}/password',
    scope: 'mailboxes:write',
    run: (w) => req(w, 'PUT', `/api/v1/mailboxes/${mailboxA.id}/password`, { password: `reset passphrase ${uniqueName()}` }),
  },
  {
    name: 'DELETE /mailboxes/{X of A}',
    scope: 'mailboxes:write',
    run: async (w) => {
      const x = await insertMailbox(domainA.id);
      const r = await req(w, 'DELETE', `/api/v1/mailboxes/${x}`);
      expect(await t.prisma.mailbox.count({ where: { id: x } }), `${w.name}: mailbox deleted iff allowed`).toBe(r.status === 204 ? 0 : 1);
      return r;
    },
  },
  { name: 'GET /domains/{A}/aliases', scope: 'aliases:read', run: (w) => req(w, 'GET', `/api/v1/domains/${domainA.id}/aliases`) },
  {
    name: 'POST /domains/{A}/aliases',
    scope: 'aliases:write',
    run: (w) => req(w, 'POST', `/api/v1/domains/${domainA.id}/aliases`, { localPart: uniqueName('al'), destinations: [mailboxA.id] }),
  },
  {
    name: 'POST /domains/{A}/aliases → mailbox of another domain of A',
    scope: 'aliases:write',
    destinationOutside: true,
    run: (w) => req(w, 'POST', `/api/v1/domains/${domainA.id}/aliases`, { localPart: uniqueName('al'), destinations: [mailboxOtherA.id] }),
  },
  {
    name: 'PATCH /aliases/{A} destinations → mailbox of another domain of A',
    scope: 'aliases:write',
    destinationOutside: true,
    run: async (w) => {
      const x = await t.prisma.alias.create({
        data: { domainId: domainA.id, localPart: uniqueName('x'), destinations: { create: [{ mailboxId: mailboxA.id }] } },
      });
      return req(w, 'PATCH', `/api/v1/aliases/${x.id}`, { destinations: [mailboxA.id, mailboxOtherA.id] });
    },
  },
  { name: 'GET /aliases/{A}', scope: 'aliases:read', run: (w) => req(w, 'GET', `/api/v1/aliases/${aliasA.id}`) },
  { name: 'PATCH /aliases/{A}', scope: 'aliases:write', run: (w) => req(w, 'PATCH', `/api/v1/aliases/${aliasA.id}`, { enabled: true }) },
  {
    name: 'DELETE /aliases/{X of A}',
    scope: 'aliases:write',
    run: async (w) => {
      const x = await t.prisma.alias.create({
        data: { domainId: domainA.id, localPart: uniqueName('x'), destinations: { create: [{ mailboxId: mailboxA.id }] } },
      });
      const r = await req(w, 'DELETE', `/api/v1/aliases/${x.id}`);
      expect(await t.prisma.alias.count({ where: { id: x.id } }), `${w.name}: alias deleted iff allowed`).toBe(r.status === 204 ? 0 : 1);
      return r;
    },
  },
  {
    name: 'GET /domains/{A}/sender-rules (lists A’s rule?)',
    scope: 'domains:read',
    run: (w) => listContains(w, `/api/v1/domains/${domainA.id}/sender-rules`, ruleA.id),
  },
  {
    name: 'POST /domains/{A}/sender-rules',
    scope: 'domains:write',
    run: (w) => req(w, 'POST', `/api/v1/domains/${domainA.id}/sender-rules`, { pattern: `${uniqueName('s')}.example`, action: 'block' }),
  },
  {
    name: 'POST /domains/{A}/sender-rules/import',
    scope: 'domains:write',
    run: (w) =>
      req(w, 'POST', `/api/v1/domains/${domainA.id}/sender-rules/import`, {
        rules: [{ pattern: `${uniqueName('s')}.example`, action: 'block' }],
      }),
  },
  {
    name: 'GET /domains/{A}/sender-rules/export',
    scope: 'domains:read',
    run: (w) => reqCsv(w, `/api/v1/domains/${domainA.id}/sender-rules/export`, ruleA.pattern),
  },
  {
    name: 'GET /sender-rules/{A}',
    scope: 'domains:read',
    mailboxOwned: true,
    run: (w) => req(w, 'GET', `/api/v1/sender-rules/${ruleA.id}`),
  },
  {
    name: 'PATCH /sender-rules/{A}',
    scope: 'domains:write',
    mailboxOwned: true,
    run: async (w) => {
      const r = await req(w, 'PATCH', `/api/v1/sender-rules/${ruleA.id}`, { action: 'allow' });
      const row = await t.prisma.senderRule.findUniqueOrThrow({ where: { id: ruleA.id } });
      expect(row.action, `${w.name}: rule changed iff allowed`).toBe(r.status === 200 ? 'allow' : 'block');
      await t.prisma.senderRule.update({ where: { id: ruleA.id }, data: { action: 'block' } });
      return r;
    },
  },
  {
    name: 'DELETE /sender-rules/{X of A}',
    scope: 'domains:write',
    mailboxOwned: true,
    run: (w) => deleteFreshRule(w, null),
  },
  {
    name: 'GET /mailboxes/{A}/sender-rules (lists its rule?)',
    scope: 'mailboxes:read',
    mailboxOwned: true,
    run: (w) => listContains(w, `/api/v1/mailboxes/${mailboxA.id}/sender-rules`, mailboxRuleA.id),
  },
  {
    name: 'POST /mailboxes/{A}/sender-rules',
    scope: 'mailboxes:write',
    mailboxOwned: true,
    run: (w) => req(w, 'POST', `/api/v1/mailboxes/${mailboxA.id}/sender-rules`, { pattern: `${uniqueName('s')}.example`, action: 'block' }),
  },
  {
    name: 'POST /mailboxes/{A}/sender-rules/import',
    scope: 'mailboxes:write',
    mailboxOwned: true,
    run: (w) =>
      req(w, 'POST', `/api/v1/mailboxes/${mailboxA.id}/sender-rules/import`, {
        rules: [{ pattern: `${uniqueName('s')}.example`, action: 'block' }],
      }),
  },
  {
    name: 'GET /mailboxes/{A}/sender-rules/export',
    scope: 'mailboxes:read',
    mailboxOwned: true,
    run: (w) => reqCsv(w, `/api/v1/mailboxes/${mailboxA.id}/sender-rules/export`, mailboxRuleA.pattern),
  },
  {
    name: 'GET /sender-rules/{mailbox A’s}',
    scope: 'mailboxes:read',
    mailboxOwned: true,
    run: (w) => req(w, 'GET', `/api/v1/sender-rules/${mailboxRuleA.id}`),
  },
  {
    name: 'DELETE /sender-rules/{X of mailbox A}',
    scope: 'mailboxes:write',
    mailboxOwned: true,
    run: (w) => deleteFreshRule(w, mailboxA.id),
  },
  {
    name: 'GET /api-keys?userId={A} (lists a key of A?)',
    scope: 'api-keys:read',
    target: 'keyOfA',
    filtered: true,
    run: (w) => listContains(w, `/api/v1/api-keys?userId=${ownerA.id}`, keyOfA.id),
  },
  { name: 'GET /api-keys/{A}', scope: 'api-keys:read', target: 'keyOfA', run: (w) => req(w, 'GET', `/api/v1/api-keys/${keyOfA.id}`) },
  {
    name: 'DELETE /api-keys/{X of A}',
    scope: 'api-keys:write',
    target: 'keyOfA',
    run: async (w) => {
      const x = await createKeyRow(ownerA.id);
      const r = await req(w, 'DELETE', `/api/v1/api-keys/${x}`);
      const row = await t.prisma.apiKey.findUniqueOrThrow({ where: { id: x } });
      expect(row.revokedAt !== null, `${w.name}: key revoked iff allowed`).toBe(r.status === 200);
      return r;
    },
  },
  {
    name: 'GET /audit-events?targetId={A domain}',
    scope: 'audit:read',
    filtered: true,
    run: (w) => listNonEmpty(w, `/api/v1/audit-events?targetId=${domainA.id}`),
  },
];

/** Deletes a fresh rule of A's (the domain's own, or mailbox A's), which must be gone exactly when the request succeeded. */
async function deleteFreshRule(w: Who, mailboxId: string | null) {
  const x = await t.prisma.senderRule.create({
    data: { domainId: domainA.id, mailboxId, pattern: `${uniqueName('x')}.example`, action: 'block' },
  });
  const r = await req(w, 'DELETE', `/api/v1/sender-rules/${x.id}`);
  expect(await t.prisma.senderRule.count({ where: { id: x.id } }), `${w.name}: rule deleted iff allowed`).toBe(r.status === 204 ? 0 : 1);
  return r;
}

async function req(w: Who, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) {
  const res = await call(t.app, w.creds, method, url, payload);
  return { status: res.statusCode, body: res.body ? res.json() : null };
}
/** A profile download: the property list on success (it must name the mailbox), a problem otherwise. */
async function reqProfile(w: Who, method: 'GET' | 'POST', url: string, payload?: unknown) {
  const res = await call(t.app, w.creds, method, url, payload);
  if (res.statusCode !== 200) return { status: res.statusCode, body: res.json() };
  return { status: res.body.includes(`<string>target@${domainA.name}</string>`) ? 200 : 500, body: res.body.slice(0, 100) };
}
/** A CSV export: 200 only when it lists `pattern` (A's rule), a problem otherwise. */
async function reqCsv(w: Who, url: string, pattern: string) {
  const res = await call(t.app, w.creds, 'GET', url);
  if (res.statusCode !== 200) return { status: res.statusCode, body: res.json() };
  return { status: res.body.includes(`\r\n${pattern},`) ? 200 : 299, body: res.body.slice(0, 100) };
}
async function listContains(w: Who, url: string, id: string) {
  const r = await req(w, 'GET', url);
  if (r.status !== 200) return r;
  const items = (r.body as { items: { id: string }[] }).items;
  return { status: items.some((i) => i.id === id) ? 200 : 299, body: r.body };
}
async function listNonEmpty(w: Who, url: string) {
  const r = await req(w, 'GET', url);
  if (r.status !== 200) return r;
  return { status: (r.body as { items: unknown[] }).items.length ? 200 : 299, body: r.body };
}

function outcomeOf(r: { status: number; body: unknown }): Outcome | number {
  if (r.status === 299) return 'empty';
  if (r.status >= 200 && r.status < 300) return 'ok';
  return r.status;
}

describe('tenant-isolation matrix', () => {
  test('every principal × every endpoint on owner A’s resources', async () => {
    const mismatches: string[] = [];
    let checked = 0;
    for (const op of ops) {
      for (const who of whos) {
        const r = await op.run(who);
        const got = outcomeOf(r);
        const want = expected(op, who);
        checked++;
        if (got !== want)
          mismatches.push(`${op.name} as ${who.name}: expected ${want}, got ${got} ${JSON.stringify(r.body).slice(0, 160)}`);
        if (typeof got === 'number') {
          const code = (r.body as { code?: string }).code;
          if (got === 403 && code !== 'FORBIDDEN') mismatches.push(`${op.name} as ${who.name}: 403 with code ${code}`);
          if (got === 404 && code !== 'NOT_FOUND') mismatches.push(`${op.name} as ${who.name}: 404 with code ${code}`);
          if (got === 400 && code !== 'VALIDATION_FAILED') mismatches.push(`${op.name} as ${who.name}: 400 with code ${code}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBe(ops.length * whos.length);
    // every scope adds a principal: the matrix grows with them (about 30 s on a busy 2-core machine before webhooks:*)
  }, 120_000);

  test('the mailbox user can read /me and nothing of the tenant', async () => {
    const mb = whos.find((w) => w.user === 'mailbox')!;
    const me = await call(t.app, mb.creds, 'GET', '/api/v1/me');
    expect(me.statusCode).toBe(200);
    expect(me.json().kind).toBe('mailbox');
    expect((await call(t.app, mb.creds, 'GET', '/api/v1/api-keys')).statusCode).toBe(403);
    expect((await call(t.app, mb.creds, 'POST', '/api/v1/api-keys', { name: 'x', scopes: ['domains:read'] })).statusCode).toBe(403);
  });

  test("owner B cannot point an alias at A's mailbox, nor create a key for A's domain", async () => {
    const b = whos.find((w) => w.name === 'owner B')!;
    const bDomain = (await call(t.app, b.creds, 'GET', '/api/v1/domains')).json().items[0];
    const alias = await call(t.app, b.creds, 'POST', `/api/v1/domains/${bDomain.id}/aliases`, {
      localPart: 'steal',
      destinations: [mailboxA.id],
    });
    expect(alias.statusCode).toBe(400);
    const key = await call(t.app, b.creds, 'POST', '/api/v1/api-keys', { name: 'x', scopes: ['domains:read'], domainIds: [domainA.id] });
    expect(key.statusCode).toBe(400);
  });
});

describe('issue 10, attack 1: a domain-restricted admin key stays in its domains', () => {
  async function scene() {
    const admin = await createUser(t, { role: 'ADMIN' });
    const reseller = await createUser(t);
    const victim = await createUser(t);
    const d = await t.prisma.domain.create({ data: { verifiedAt: new Date(), name: `${uniqueName('r')}.example`, ownerId: reseller.id } });
    const d2 = await t.prisma.domain.create({
      data: { verifiedAt: new Date(), name: `${uniqueName('r2')}.example`, ownerId: reseller.id },
    });
    await t.prisma.domain.create({ data: { verifiedAt: new Date(), name: `${uniqueName('v')}.example`, ownerId: victim.id } });
    const outside = await insertMailbox(d2.id, 'outside');
    const inside = await insertMailbox(d.id, 'inside');
    const adminKey = (await t.prisma.apiKey.findUniqueOrThrow({ where: { id: await createKeyRow(admin.id) } })).id;
    const victimKey = await createKey(t.prisma, victim.id, ['domains:read']);
    const mixed = await t.prisma.alias.create({
      data: { domainId: d.id, localPart: 'mixed', destinations: { create: [{ mailboxId: inside }, { mailboxId: outside }] } },
    });
    return { admin, reseller, victim, d, d2, outside, inside, adminKey, victimKey, mixedAlias: mixed.id };
  }

  test('as `api-key create --domains` makes it (default scopes) and as keys made before the fix (owners:* too)', async () => {
    const s = await scene();
    const scopes = defaultApiKeyScopes('ADMIN', true);
    expect(scopes.filter((x) => x.startsWith('owners:'))).toEqual([]);
    const keys = { current: await createKey(t.prisma, s.admin.id, scopes, [s.d.id]), legacy: await insertLegacyKey(s.admin.id, [s.d.id]) };
    for (const [kind, key] of Object.entries(keys)) {
      const k = { key };
      const why = `${kind} key`;
      // No owner endpoint: list, read, change the victim's password.
      expect((await call(t.app, k, 'GET', '/api/v1/owners')).statusCode, why).toBe(403);
      expect((await call(t.app, k, 'GET', `/api/v1/owners/${s.victim.id}`)).statusCode, why).toBe(403);
      const patch = await call(t.app, k, 'PATCH', `/api/v1/owners/${s.victim.id}`, { password: 'taken over passphrase 1' });
      expect(patch.statusCode, why).toBe(403);
      expect(patch.json().code).toBe('FORBIDDEN');
      const signIn = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        remoteAddress: '10.77.0.1',
        payload: { email: s.victim.email, password: 'taken over passphrase 1' },
      });
      expect(signIn.statusCode, why).toBe(401);
      expect((await call(t.app, { key: s.victimKey }, 'GET', '/api/v1/domains')).statusCode, `${why}: the victim's key still works`).toBe(
        200,
      );
      // No other user's keys, and none of its own user's other keys: the list holds itself alone.
      const own = (await call(t.app, k, 'GET', '/api/v1/api-keys')).json().items.map((x: { name: string }) => x.name);
      expect(own, why).toHaveLength(1);
      expect((await call(t.app, k, 'GET', `/api/v1/api-keys?userId=${s.victim.id}`)).json().items, why).toEqual([]);
      expect((await call(t.app, k, 'GET', `/api/v1/api-keys/${s.adminKey}`)).statusCode, why).toBe(404);
      expect((await call(t.app, k, 'DELETE', `/api/v1/api-keys/${s.adminKey}`)).statusCode, why).toBe(404);
      expect((await t.prisma.apiKey.findUniqueOrThrow({ where: { id: s.adminKey } })).revokedAt, why).toBeNull();
      // No new key with owners:* (SCOPE_NOT_ALLOWED), nor reaching beyond its domains.
      const escalate = await call(t.app, k, 'POST', '/api/v1/api-keys', { name: 'up', scopes: ['owners:write'] });
      expect(escalate.statusCode, why).toBe(422);
      expect(escalate.json()).toMatchObject({ code: 'SCOPE_NOT_ALLOWED', errors: [{ path: 'scopes.0', code: 'not_with_domains' }] });
      const wider = await call(t.app, k, 'POST', '/api/v1/api-keys', { name: 'wide', scopes: ['domains:read'], domainIds: [s.d2.id] });
      expect(wider.statusCode, why).toBe(400);
      // No alias destination outside its domains; inside is fine.
      const alias = await call(t.app, k, 'POST', `/api/v1/domains/${s.d.id}/aliases`, {
        localPart: uniqueName('al'),
        destinations: [s.outside],
      });
      expect(alias.statusCode, why).toBe(400);
      expect(alias.json().errors[0]).toMatchObject({ path: 'destinations.0', code: 'unknown_mailbox' });
      expect(
        (await call(t.app, k, 'POST', `/api/v1/domains/${s.d.id}/aliases`, { localPart: uniqueName('al'), destinations: [s.inside] }))
          .statusCode,
        why,
      ).toBe(201);
      // A link the owner made out of the domain is not shown to the key (no address of another domain leaks).
      const seen = (await call(t.app, k, 'GET', `/api/v1/aliases/${s.mixedAlias}`)).json();
      expect(
        seen.destinations.map((x: { mailboxId: string }) => x.mailboxId),
        why,
      ).toEqual([s.inside]);
      const listed = (await call(t.app, k, 'GET', `/api/v1/domains/${s.d.id}/aliases?limit=200`)).json().items;
      expect(JSON.stringify(listed), why).not.toContain(s.outside);
      // Nothing admin-wide on its own domain: no transfer (not even to its own admin), no limits.
      for (const body of [{ ownerId: s.victim.id }, { ownerId: s.admin.id }, { maxStorageBytes: 1 }, { maxMailboxes: 1000 }]) {
        expect((await call(t.app, k, 'PATCH', `/api/v1/domains/${s.d.id}`, body)).statusCode, `${why} ${JSON.stringify(body)}`).toBe(403);
      }
      expect((await t.prisma.domain.findUniqueOrThrow({ where: { id: s.d.id } })).ownerId).toBe(s.reseller.id);
      // It may revoke itself.
      expect(
        (await call(t.app, k, 'DELETE', `/api/v1/api-keys/${(await call(t.app, k, 'GET', '/api/v1/api-keys')).json().items[0].id}`))
          .statusCode,
        why,
      ).toBe(200);
      expect((await call(t.app, k, 'GET', `/api/v1/domains/${s.d.id}`)).statusCode, why).toBe(401);
    }
  });

  test('a signed-in admin cannot make a domain-restricted key with owners:* either (422 SCOPE_NOT_ALLOWED)', async () => {
    const s = await scene();
    const admin = await login(t.app, s.admin.email, s.admin.password);
    const res = await call(t.app, admin, 'POST', '/api/v1/api-keys', {
      name: 'r',
      scopes: ['domains:read', 'owners:read'],
      domainIds: [s.d.id],
    });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'SCOPE_NOT_ALLOWED', errors: [{ path: 'scopes.1', code: 'not_with_domains' }] });
    expect(
      (await call(t.app, admin, 'POST', '/api/v1/api-keys', { name: 'r', scopes: ['domains:read'], domainIds: [s.d.id] })).statusCode,
    ).toBe(201);
  });
});
