/**
 * Tenant-isolation matrix: every endpoint, tried by every kind of principal against owner A's resources.
 * Expected outcomes come from the access rules stated in the issue, not from the implementation:
 *  - admin: everything; owner A: everything under A except /owners; owner B: A's resources do not exist (404);
 *  - mailbox user: only /me (403 elsewhere);
 *  - API keys: the user's rights narrowed to the key's scopes (403 without the scope; a write scope implies read)
 *    and, for a domain-restricted key, to its domains (other domains do not exist: 404).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { API_KEY_SCOPES, type ApiKeyScope } from '@mailroom/core/schemas';
import { newId } from '@mailroom/db';
import { call, createKey, createTestApp, createUser, login, type Credentials, type TestContext, uniqueName } from './testing.ts';

type Kind = 'admin' | 'ownerA' | 'ownerB' | 'mailbox' | 'keyA' | 'keyAdmin' | 'keyB' | 'keyArestricted';
interface Who {
  name: string;
  kind: Kind;
  creds: Credentials;
  scopes?: ApiKeyScope[];
}
type Outcome = 'ok' | 'empty' | 403 | 404;

interface Op {
  name: string;
  scope: ApiKeyScope;
  adminOnly?: boolean;
  /** false: not under a domain (api keys), so a domain restriction does not hide it */
  domainScoped?: boolean;
  /** list filtered to the tenant: B sees an empty list instead of 404 */
  filtered?: boolean;
  run(who: Who): Promise<{ status: number; body: unknown }>;
  /** For mutations: whether the target still exists / is unchanged afterwards (checked when refused). */
  intact?(): Promise<boolean>;
}

function has(scopes: readonly ApiKeyScope[], needed: ApiKeyScope): boolean {
  return scopes.includes(needed) || (needed.endsWith(':read') && scopes.includes(needed.replace(':read', ':write') as ApiKeyScope));
}

function expected(op: Op, who: Who): Outcome {
  if (who.kind === 'mailbox') return 403;
  const keyKinds: Kind[] = ['keyA', 'keyAdmin', 'keyB', 'keyArestricted'];
  if (keyKinds.includes(who.kind) && !has(who.scopes!, op.scope)) return 403;
  if (op.adminOnly) return who.kind === 'admin' || who.kind === 'keyAdmin' ? 'ok' : 403;
  if (who.kind === 'admin' || who.kind === 'keyAdmin' || who.kind === 'ownerA' || who.kind === 'keyA') return 'ok';
  if (who.kind === 'keyArestricted' && op.domainScoped === false) return 'ok';
  // owner B, B's key, A's key restricted to another domain: A's resource is invisible
  return op.filtered ? 'empty' : 404;
}

let t: TestContext;
const whos: Who[] = [];
let ownerA: { id: string };
let domainA: { id: string; name: string };
let mailboxA: { id: string };
let aliasA: { id: string };
let keyOfA: { id: string };
let hash: string;
const PW = 'isolation passphrase 1';

async function insertMailbox(domainId: string, localPart = uniqueName('m')): Promise<string> {
  const id = newId();
  await t.prisma.mailbox.create({ data: { id, domainId, localPart, passwordHash: hash } });
  return id;
}

beforeAll(async () => {
  t = await createTestApp();
  hash = await t.hasher.hash(PW);
  const admin = await createUser(t, { role: 'ADMIN' });
  const a = await createUser(t);
  const b = await createUser(t);
  ownerA = a;
  const d = await t.prisma.domain.create({ data: { name: `${uniqueName('a')}.example`, ownerId: a.id, verifiedAt: new Date() } });
  domainA = d;
  const otherA = await t.prisma.domain.create({ data: { name: `${uniqueName('a2')}.example`, ownerId: a.id, verifiedAt: new Date() } });
  await t.prisma.domain.create({ data: { name: `${uniqueName('b')}.example`, ownerId: b.id, verifiedAt: new Date() } });
  mailboxA = { id: await insertMailbox(d.id, 'target') };
  const mbUser = await insertMailbox(d.id, 'user');
  aliasA = await t.prisma.alias.create({ data: { domainId: d.id, localPart: 'alias', destinations: { create: [{ mailboxId: mailboxA.id }] } } });
  keyOfA = (await t.prisma.apiKey.findFirstOrThrow({ where: { id: (await createKeyRow(a.id)) } }));
  // Audit events about domain A exist (written by owner A).
  await t.prisma.auditEvent.create({ data: { actorType: 'user', actorId: a.id, actorLabel: a.email, ownerId: a.id, action: 'domain.update', targetType: 'domain', targetId: d.id, details: { domainId: d.id } } });

  whos.push({ name: 'admin', kind: 'admin', creds: await login(t.app, admin.email, admin.password) });
  whos.push({ name: 'owner A', kind: 'ownerA', creds: await login(t.app, a.email, a.password) });
  whos.push({ name: 'owner B', kind: 'ownerB', creds: await login(t.app, b.email, b.password) });
  whos.push({ name: 'mailbox user', kind: 'mailbox', creds: await login(t.app, `user@${d.name}`, PW) });
  for (const scope of API_KEY_SCOPES) {
    const adminScope = scope.startsWith('owners:');
    whos.push({ name: `${adminScope ? 'admin' : 'owner A'} key [${scope}]`, kind: adminScope ? 'keyAdmin' : 'keyA', scopes: [scope], creds: { key: await createKey(t.prisma, adminScope ? admin.id : a.id, [scope]) } });
  }
  const ownerScopes = API_KEY_SCOPES.filter((s) => !s.startsWith('owners:'));
  whos.push({ name: 'owner B key [all]', kind: 'keyB', scopes: [...ownerScopes], creds: { key: await createKey(t.prisma, b.id, [...ownerScopes]) } });
  whos.push({ name: 'owner A key restricted to another domain [all]', kind: 'keyArestricted', scopes: [...ownerScopes], creds: { key: await createKey(t.prisma, a.id, [...ownerScopes], [otherA.id]) } });
});
afterAll(async () => t?.close());

async function createKeyRow(userId: string): Promise<string> {
  const row = await t.prisma.apiKey.create({ data: { userId, name: 'target', prefix: uniqueName('p').slice(0, 12).toLowerCase().padEnd(12, '0'), secretHash: 'x'.repeat(64), scopes: ['domains:read'] } });
  return row.id;
}

const ops: Op[] = [
  { name: 'GET /owners', scope: 'owners:read', adminOnly: true, run: (w) => req(w, 'GET', '/api/v1/owners') },
  { name: 'GET /owners/{A}', scope: 'owners:read', adminOnly: true, run: (w) => req(w, 'GET', `/api/v1/owners/${ownerA.id}`) },
  { name: 'POST /owners', scope: 'owners:write', adminOnly: true, run: (w) => req(w, 'POST', '/api/v1/owners', { email: `${uniqueName('n')}@example.com`, password: PW }) },
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
  { name: 'GET /domains (lists A’s domain?)', scope: 'domains:read', filtered: true, run: (w) => listContains(w, `/api/v1/domains?q=${domainA.name}`, domainA.id) },
  { name: 'GET /domains/{A}', scope: 'domains:read', run: (w) => req(w, 'GET', `/api/v1/domains/${domainA.id}`) },
  { name: 'PATCH /domains/{A}', scope: 'domains:write', run: (w) => req(w, 'PATCH', `/api/v1/domains/${domainA.id}`, { description: `by ${w.name}` }) },
  {
    name: 'DELETE /domains/{X of A}',
    scope: 'domains:write',
    run: async (w) => {
      const x = await t.prisma.domain.create({ data: { name: `${uniqueName('x')}.example`, ownerId: ownerA.id, verifiedAt: new Date() } });
      const r = await req(w, 'DELETE', `/api/v1/domains/${x.id}`);
      expect(await t.prisma.domain.count({ where: { id: x.id } }), `${w.name}: domain deleted iff allowed`).toBe(r.status === 204 ? 0 : 1);
      return r;
    },
  },
  { name: 'GET /domains/{A}/mailboxes', scope: 'mailboxes:read', run: (w) => req(w, 'GET', `/api/v1/domains/${domainA.id}/mailboxes`) },
  { name: 'POST /domains/{A}/mailboxes', scope: 'mailboxes:write', run: (w) => req(w, 'POST', `/api/v1/domains/${domainA.id}/mailboxes`, { localPart: uniqueName('new'), password: PW }) },
  { name: 'GET /mailboxes/{A}', scope: 'mailboxes:read', run: (w) => req(w, 'GET', `/api/v1/mailboxes/${mailboxA.id}`) },
  { name: 'PATCH /mailboxes/{A}', scope: 'mailboxes:write', run: (w) => req(w, 'PATCH', `/api/v1/mailboxes/${mailboxA.id}`, { displayName: `by ${w.name}` }) },
  { name: 'PUT /mailboxes/{A}/password', scope: 'mailboxes:write', run: (w) => req(w, 'PUT', `/api/v1/mailboxes/${mailboxA.id}/password`, { password: `reset passphrase ${uniqueName()}` }) },
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
  { name: 'POST /domains/{A}/aliases', scope: 'aliases:write', run: (w) => req(w, 'POST', `/api/v1/domains/${domainA.id}/aliases`, { localPart: uniqueName('al'), destinations: [mailboxA.id] }) },
  { name: 'GET /aliases/{A}', scope: 'aliases:read', run: (w) => req(w, 'GET', `/api/v1/aliases/${aliasA.id}`) },
  { name: 'PATCH /aliases/{A}', scope: 'aliases:write', run: (w) => req(w, 'PATCH', `/api/v1/aliases/${aliasA.id}`, { enabled: true }) },
  {
    name: 'DELETE /aliases/{X of A}',
    scope: 'aliases:write',
    run: async (w) => {
      const x = await t.prisma.alias.create({ data: { domainId: domainA.id, localPart: uniqueName('x'), destinations: { create: [{ mailboxId: mailboxA.id }] } } });
      const r = await req(w, 'DELETE', `/api/v1/aliases/${x.id}`);
      expect(await t.prisma.alias.count({ where: { id: x.id } }), `${w.name}: alias deleted iff allowed`).toBe(r.status === 204 ? 0 : 1);
      return r;
    },
  },
  { name: 'GET /api-keys/{A}', scope: 'api-keys:read', domainScoped: false, run: (w) => req(w, 'GET', `/api/v1/api-keys/${keyOfA.id}`) },
  {
    name: 'DELETE /api-keys/{X of A}',
    scope: 'api-keys:write',
    domainScoped: false,
    run: async (w) => {
      const x = await createKeyRow(ownerA.id);
      const r = await req(w, 'DELETE', `/api/v1/api-keys/${x}`);
      const row = await t.prisma.apiKey.findUniqueOrThrow({ where: { id: x } });
      expect(row.revokedAt !== null, `${w.name}: key revoked iff allowed`).toBe(r.status === 200);
      return r;
    },
  },
  { name: 'GET /audit-events?targetId={A domain}', scope: 'audit:read', filtered: true, run: (w) => listNonEmpty(w, `/api/v1/audit-events?targetId=${domainA.id}`) },
];

async function req(w: Who, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) {
  const res = await call(t.app, w.creds, method, url, payload);
  return { status: res.statusCode, body: res.body ? res.json() : null };
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
        if (got !== want) mismatches.push(`${op.name} as ${who.name}: expected ${want}, got ${got} ${JSON.stringify(r.body).slice(0, 160)}`);
        if (typeof got === 'number') {
          const code = (r.body as { code?: string }).code;
          if (got === 403 && code !== 'FORBIDDEN') mismatches.push(`${op.name} as ${who.name}: 403 with code ${code}`);
          if (got === 404 && code !== 'NOT_FOUND') mismatches.push(`${op.name} as ${who.name}: 404 with code ${code}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBe(ops.length * whos.length);
  });

  test('the mailbox user can read /me and nothing of the tenant', async () => {
    const mb = whos.find((w) => w.kind === 'mailbox')!;
    const me = await call(t.app, mb.creds, 'GET', '/api/v1/me');
    expect(me.statusCode).toBe(200);
    expect(me.json().kind).toBe('mailbox');
    expect((await call(t.app, mb.creds, 'GET', '/api/v1/api-keys')).statusCode).toBe(403);
    expect((await call(t.app, mb.creds, 'POST', '/api/v1/api-keys', { name: 'x', scopes: ['domains:read'] })).statusCode).toBe(403);
  });

  test("owner B cannot point an alias at A's mailbox, nor create a key for A's domain", async () => {
    const b = whos.find((w) => w.kind === 'ownerB')!;
    const bDomain = (await call(t.app, b.creds, 'GET', '/api/v1/domains')).json().items[0];
    const alias = await call(t.app, b.creds, 'POST', `/api/v1/domains/${bDomain.id}/aliases`, { localPart: 'steal', destinations: [mailboxA.id] });
    expect(alias.statusCode).toBe(400);
    const key = await call(t.app, b.creds, 'POST', '/api/v1/api-keys', { name: 'x', scopes: ['domains:read'], domainIds: [domainA.id] });
    expect(key.statusCode).toBe(400);
  });
});
