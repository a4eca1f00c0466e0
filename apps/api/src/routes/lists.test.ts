// Every list the panel shows is complete: cursor pages reach the last item past 200, pickers find items beyond the
// first page by searching, and dashboard counts cover every domain.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  call,
  createKey,
  createTestAppWithAdmin,
  createUser,
  type Credentials,
  login,
  type Session,
  type TestContext,
  uniqueName,
} from '../testing.ts';

let t: TestContext;
let admin: Session;
beforeAll(async () => ({ t, admin } = await createTestAppWithAdmin()));
afterAll(async () => t?.close());

/** Follows nextCursor from the first page to the last; returns every item in order and how many pages it took. */
async function walk<T>(creds: Credentials, url: string, limit: number): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const res = await call(t.app, creds, 'GET', `${url}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(res.statusCode, res.body).toBe(200);
    const page = res.json() as { items: T[]; nextCursor: string | null };
    expect(page.items.length).toBeLessThanOrEqual(limit);
    items.push(...page.items);
    cursor = page.nextCursor;
    pages++;
  } while (cursor && pages < 100);
  return { items, pages };
}

async function tenantWithDomains(n: number, pending = 0, mxFlagged = 0) {
  const o = await createUser(t);
  const s = await login(t.app, o.email, o.password);
  const base = uniqueName('l');
  await t.prisma.domain.createMany({
    data: Array.from({ length: n }, (_, i) => ({
      name: `${base}-${String(i).padStart(4, '0')}.example`,
      ownerId: o.id,
      ...(i < pending ? { verificationToken: `t${i}`, claimExpiresAt: new Date(Date.now() + 3_600_000) } : { verifiedAt: new Date() }),
      ...(i >= pending && i < pending + mxFlagged ? { mxStatus: i % 2 ? 'missing' : 'different' } : {}),
    })),
  });
  const domains = await t.prisma.domain.findMany({ where: { ownerId: o.id }, orderBy: { name: 'asc' }, select: { id: true, name: true } });
  return { owner: o, s, domains };
}

describe('complete lists', () => {
  test('domains of an owner (admin owner page): 230 domains, pages of 50 reach the last one, each once', async () => {
    const { owner, domains } = await tenantWithDomains(230);
    const { items, pages } = await walk<{ id: string; name: string }>(admin, `/api/v1/domains?ownerId=${owner.id}`, 50);
    expect(pages).toBe(5);
    expect(items.map((d) => d.name)).toEqual(domains.map((d) => d.name));
    expect(items.at(-1)!.name).toBe(domains.at(-1)!.name);
  });

  test("dashboard summary counts every domain (not the first 200), only the caller's, and only a restricted key's", async () => {
    const { owner, s, domains } = await tenantWithDomains(240, 12, 7);
    await tenantWithDomains(5, 2, 1); // another tenant: never counted
    expect((await call(t.app, s, 'GET', '/api/v1/domains/summary')).json()).toEqual({
      domains: 240,
      pending: 12,
      mxFlagged: 7,
      mtaStsFlagged: 0,
    });
    const some = domains.slice(0, 3).map((d) => d.id); // 3 pending claims
    const restricted = { key: await createKey(t.prisma, owner.id, ['domains:read'], [...some, domains.at(-1)!.id]) };
    expect((await call(t.app, restricted, 'GET', '/api/v1/domains/summary')).json()).toEqual({
      domains: 4,
      pending: 3,
      mxFlagged: 0,
      mtaStsFlagged: 0,
    });
    const admins = (await call(t.app, admin, 'GET', '/api/v1/domains/summary')).json();
    expect(admins.domains).toBeGreaterThanOrEqual(245);
    const noScope = { key: await createKey(t.prisma, owner.id, ['mailboxes:read']) };
    expect((await call(t.app, noScope, 'GET', '/api/v1/domains/summary')).statusCode).toBe(403);
    expect((await call(t.app, null, 'GET', '/api/v1/domains/summary')).statusCode).toBe(401);
  });

  test('aliases of a domain: 205 aliases, pages of 50 reach the last one', async () => {
    const { s, domains } = await tenantWithDomains(1);
    const d = domains[0]!;
    const m = (
      await call(t.app, s, 'POST', `/api/v1/domains/${d.id}/mailboxes`, { localPart: 'target', password: 'mailbox passphrase 1' })
    ).json();
    await t.prisma.alias.createMany({
      data: Array.from({ length: 205 }, (_, i) => ({ domainId: d.id, localPart: `a${String(i).padStart(3, '0')}` })),
    });
    const aliases = await t.prisma.alias.findMany({ where: { domainId: d.id }, select: { id: true } });
    await t.prisma.aliasDestination.createMany({ data: aliases.map((a) => ({ aliasId: a.id, mailboxId: m.id })) });
    const { items } = await walk<{ localPart: string }>(s, `/api/v1/domains/${d.id}/aliases`, 50);
    expect(items).toHaveLength(205);
    expect(new Set(items.map((a) => a.localPart)).size).toBe(205);
    expect(items.map((a) => a.localPart)).toContain('a204');
  });

  test('API keys: 230 keys, pages of 50 reach the last one', async () => {
    const { owner, s } = await tenantWithDomains(0);
    const base = uniqueName('k')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')
      .slice(-6);
    await t.prisma.apiKey.createMany({
      data: Array.from({ length: 230 }, (_, i) => ({
        userId: owner.id,
        name: `k${i}`,
        prefix: `${base}${String(i).padStart(6, '0')}`,
        secretHash: 'x'.repeat(64),
        scopes: ['domains:read'],
      })),
    });
    const { items } = await walk<{ name: string }>(s, '/api/v1/api-keys', 50);
    expect(items).toHaveLength(230);
    expect(new Set(items.map((k) => k.name)).size).toBe(230);
  });

  test("alias destination picker: a mailbox past the first 200 is found by the q filter, another domain's is not", async () => {
    const { s, domains } = await tenantWithDomains(2);
    const [d, other] = [domains[0]!, domains[1]!];
    await t.prisma.mailbox.createMany({
      data: Array.from({ length: 260 }, (_, i) => ({ domainId: d.id, localPart: `user${String(i).padStart(3, '0')}`, passwordHash: 'x' })),
    });
    await t.prisma.mailbox.create({ data: { domainId: d.id, localPart: 'zz-last', passwordHash: 'x', displayName: 'Zoe Last' } });
    await t.prisma.mailbox.create({ data: { domainId: other.id, localPart: 'zz-last-other', passwordHash: 'x' } });
    const first = (await call(t.app, s, 'GET', `/api/v1/domains/${d.id}/mailboxes?limit=200`)).json();
    expect(first.items.map((m: { localPart: string }) => m.localPart)).not.toContain('zz-last');
    for (const q of ['zz-la', 'ZZ-LAST', 'Zoe']) {
      const found = (await call(t.app, s, 'GET', `/api/v1/domains/${d.id}/mailboxes?limit=20&q=${encodeURIComponent(q)}`)).json();
      expect(
        found.items.map((m: { address: string }) => m.address),
        q,
      ).toEqual([`zz-last@${d.name}`]);
    }
    // LIKE wildcards are literal: '%' matches nothing rather than everything
    expect((await call(t.app, s, 'GET', `/api/v1/domains/${d.id}/mailboxes?limit=20&q=%25`)).json().items).toEqual([]);
    expect((await call(t.app, s, 'GET', `/api/v1/domains/${d.id}/mailboxes?limit=20&q=_`)).json().items).toEqual([]);
  });

  test('owner picker: an owner beyond the first 200 is found by email search', async () => {
    const base = uniqueName('many').toLowerCase();
    await t.prisma.user.createMany({
      data: Array.from({ length: 210 }, (_, i) => ({
        email: `${base}${String(i).padStart(3, '0')}@example.com`,
        passwordHash: 'x',
        role: 'OWNER' as const,
      })),
    });
    const found = (await call(t.app, admin, 'GET', `/api/v1/owners?limit=20&q=${base}209`)).json();
    expect(found.items.map((o: { email: string }) => o.email)).toEqual([`${base}209@example.com`]);
    const { items } = await walk<{ email: string }>(admin, `/api/v1/owners?q=${base}`, 50);
    expect(items).toHaveLength(210);
  });
});
