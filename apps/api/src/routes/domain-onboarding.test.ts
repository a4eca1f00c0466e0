// Ownership verification and DNS guidance against a real DNS server (dnsmasq on loopback), through the real API.
import { createDnsLookup, recheckDomains } from '@mailroom/core';
import { haveDnsmasq } from '@mailroom/core/testing';
import { findFreePort } from '@mailroom/db/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultApiConfig } from '../config.ts';
import {
  call,
  createDnsTestApp,
  createKey,
  createTestApp,
  createUser,
  type DnsTestApp,
  login,
  STRONG_PASSWORD,
  type TestContext,
  uniqueName,
} from '../testing.ts';

const ZONE = 'onboard.test';
const HOSTS = {
  mxHosts: [{ host: 'mx.mailroom.test', priority: 10 }],
  mailHost: 'pop.mailroom.test',
  webHost: 'panel.mailroom.test',
  pop3Port: 1110,
  pop3sPort: 1995,
};

let h: DnsTestApp;
let t: TestContext;
let admin: Awaited<ReturnType<typeof login>>;
const publish = (records: Parameters<DnsTestApp['publish']>[0]) => h.publish(records);

function onboarding(servers: string[], timeoutMs = 2_000) {
  return { ...defaultApiConfig().onboarding, ...HOSTS, dns: { servers, timeoutMs } };
}

async function owner() {
  const o = await createUser(t);
  return { ...o, s: await login(t.app, o.email, o.password) };
}

const domainName = () => `${uniqueName('v')}.${ZONE}`;

describe.skipIf(!haveDnsmasq)('domain onboarding (dnsmasq on loopback)', () => {
  beforeAll(async () => {
    h = await createDnsTestApp([ZONE], HOSTS);
    ({ t, admin } = h);
  });
  afterAll(() => h?.close());

  test('an owner’s domain starts pending with its TXT record; missing and wrong records keep it pending with a reason; the right one verifies it', async () => {
    const o = await owner();
    const name = domainName();
    const created = await call(t.app, o.s, 'POST', '/api/v1/domains', { name });
    expect(created.statusCode, created.body).toBe(201);
    const d = created.json();
    expect(d).toMatchObject({
      verificationStatus: 'pending',
      verifiedAt: null,
      active: true,
      verificationRecord: { type: 'TXT', name: `_mailroom.${name}` },
    });
    expect(d.verificationRecord.value).toMatch(/^mailroom-verify=[0-9a-f]{32}$/);
    expect(new Date(d.claimExpiresAt).getTime()).toBeGreaterThan(Date.now() + 71 * 3_600_000);

    // A mailbox may be prepared but cannot sign in: the answer is the one for a wrong password.
    const mb = await call(t.app, o.s, 'POST', `/api/v1/domains/${d.id}/mailboxes`, { localPart: 'alice', password: STRONG_PASSWORD });
    expect(mb.statusCode, mb.body).toBe(201);
    const pendingLogin = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: `alice@${name}`, password: STRONG_PASSWORD },
    });
    expect(pendingLogin.statusCode).toBe(401);
    expect(pendingLogin.json().code).toBe('INVALID_CREDENTIALS');

    const missing = await call(t.app, o.s, 'POST', `/api/v1/domains/${d.id}/verify`);
    expect(missing.statusCode, missing.body).toBe(422);
    expect(missing.json()).toMatchObject({ code: 'DNS_RECORD_MISSING', details: { expected: d.verificationRecord, found: [] } });
    expect(missing.json().detail).toContain(`_mailroom.${name}`);

    await publish({
      txt: [
        [`_mailroom.${name}`, 'mailroom-verify=0123456789abcdef0123456789abcdef'],
        [`_mailroom.${name}`, 'unrelated'],
      ],
    });
    const wrong = await call(t.app, o.s, 'POST', `/api/v1/domains/${d.id}/verify`, {});
    expect(wrong.statusCode, wrong.body).toBe(422);
    expect(wrong.json().code).toBe('DNS_RECORD_MISMATCH');
    expect(wrong.json().details.found.sort()).toEqual(['mailroom-verify=0123456789abcdef0123456789abcdef', 'unrelated']);
    expect((await call(t.app, o.s, 'GET', `/api/v1/domains/${d.id}`)).json().verificationStatus).toBe('pending');

    await publish({ txt: [[`_mailroom.${name}`, d.verificationRecord.value]] });
    const ok = await call(t.app, o.s, 'POST', `/api/v1/domains/${d.id}/verify`);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ id: d.id, verificationStatus: 'verified', verificationRecord: null, claimExpiresAt: null });
    expect(ok.json().verifiedAt).not.toBeNull();
    const audit = await t.prisma.auditEvent.findFirst({ where: { action: 'domain.verified', targetId: d.id } });
    expect(audit).toMatchObject({ ownerId: o.id, details: { name, method: 'dns-txt' } });
    expect(JSON.stringify(audit?.details)).not.toContain(d.verificationRecord.value.slice(16));
    // Verifying again changes nothing.
    expect((await call(t.app, o.s, 'POST', `/api/v1/domains/${d.id}/verify`)).json().verifiedAt).toBe(ok.json().verifiedAt);

    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: `alice@${name}`, password: STRONG_PASSWORD },
    });
    expect(login.statusCode, login.body).toBe(200);
  });

  test('two owners race for one name: both may claim it, exactly one verification wins, the other claim is removed and audited', async () => {
    const [a, b] = [await owner(), await owner()];
    const name = domainName();
    const da = (await call(t.app, a.s, 'POST', '/api/v1/domains', { name })).json();
    const cb = await call(t.app, b.s, 'POST', '/api/v1/domains', { name: name.toUpperCase() });
    expect(cb.statusCode, cb.body).toBe(201);
    const db = cb.json();
    expect(db.verificationRecord.value).not.toBe(da.verificationRecord.value);
    // The same owner cannot claim a name twice.
    expect((await call(t.app, a.s, 'POST', '/api/v1/domains', { name })).json().code).toBe('ALREADY_EXISTS');
    await call(t.app, b.s, 'POST', `/api/v1/domains/${db.id}/mailboxes`, { localPart: 'bob', password: STRONG_PASSWORD });

    // Both tokens published (as if the name changed hands between them): a true race.
    await publish({
      txt: [
        [`_mailroom.${name}`, da.verificationRecord.value],
        [`_mailroom.${name}`, db.verificationRecord.value],
      ],
    });
    const results = await Promise.all([
      call(t.app, a.s, 'POST', `/api/v1/domains/${da.id}/verify`),
      call(t.app, b.s, 'POST', `/api/v1/domains/${db.id}/verify`),
    ]);
    const statuses = results.map((r) => r.statusCode);
    expect(
      statuses.filter((s) => s === 200),
      results.map((r) => r.body).join('\n'),
    ).toHaveLength(1);
    const loserIdx = statuses.indexOf(200) === 0 ? 1 : 0;
    expect([404, 409]).toContain(statuses[loserIdx]);
    const [winner, loser] = loserIdx === 1 ? [da, db] : [db, da];

    const rows = await t.prisma.domain.findMany({ where: { name } });
    expect(rows.map((r) => r.id)).toEqual([winner.id]);
    expect(rows[0]!.verifiedAt).not.toBeNull();
    const removed = await t.prisma.auditEvent.findFirst({ where: { action: 'domain.claim_removed', targetId: loser.id } });
    expect(removed).toMatchObject({
      ownerId: loser.ownerId,
      details: { name, reason: 'verified_by_another_owner', winnerDomainId: winner.id },
    });

    // Once verified, nobody else may claim the name.
    const c = await owner();
    const late = await call(t.app, c.s, 'POST', '/api/v1/domains', { name });
    expect(late.statusCode).toBe(409);
    expect(late.json()).toMatchObject({ code: 'ALREADY_EXISTS', detail: 'This domain is already hosted' });
  });

  test('verified: true is for unrestricted admins only; owners and domain-restricted keys are refused; an admin’s verified domain removes pending claims', async () => {
    const o = await owner();
    const refused = await call(t.app, o.s, 'POST', '/api/v1/domains', { name: domainName(), verified: true });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'FORBIDDEN', errors: [{ path: 'verified', code: 'admin_only' }] });

    const ownerKey = await createKey(t.prisma, o.id, ['domains:write']);
    expect((await call(t.app, { key: ownerKey }, 'POST', '/api/v1/domains', { name: domainName(), verified: true })).statusCode).toBe(403);

    const adminUser = await createUser(t, { role: 'ADMIN' });
    const someDomain = (await call(t.app, admin, 'POST', '/api/v1/domains', { name: domainName(), ownerId: o.id, verified: true })).json();
    const restricted = await createKey(t.prisma, adminUser.id, ['domains:write'], [someDomain.id]);
    const r = await call(t.app, { key: restricted }, 'POST', '/api/v1/domains', { name: domainName(), ownerId: o.id, verified: true });
    expect(r.statusCode).toBe(403);
    expect(r.json().code).toBe('FORBIDDEN');

    // An owner's pending claim, then the admin (billing system) hosts the name for someone else.
    const name = domainName();
    const pending = (await call(t.app, o.s, 'POST', '/api/v1/domains', { name })).json();
    const other = await createUser(t);
    const adminKey = await createKey(t.prisma, adminUser.id, ['domains:write']);
    const hosted = await call(t.app, { key: adminKey }, 'POST', '/api/v1/domains', { name, ownerId: other.id, verified: true });
    expect(hosted.statusCode, hosted.body).toBe(201);
    expect(hosted.json()).toMatchObject({ verificationStatus: 'verified', verificationRecord: null });
    expect((await call(t.app, o.s, 'GET', `/api/v1/domains/${pending.id}`)).statusCode).toBe(404);
    expect(await t.prisma.auditEvent.count({ where: { action: 'domain.claim_removed', targetId: pending.id } })).toBe(1);
    // Without verified: true an admin's domain starts pending too.
    expect((await call(t.app, admin, 'POST', '/api/v1/domains', { name: domainName(), ownerId: other.id })).json().verificationStatus).toBe(
      'pending',
    );
  });

  test('GET /dns lists the records; ?check=true reports each as ok, missing or different', async () => {
    const o = await owner();
    const name = domainName();
    const d = (await call(t.app, o.s, 'POST', '/api/v1/domains', { name })).json();
    const plain = await call(t.app, o.s, 'GET', `/api/v1/domains/${d.id}/dns`);
    expect(plain.statusCode, plain.body).toBe(200);
    const body = plain.json();
    expect(body.checkedAt).toBeNull();
    const byPurpose = Object.fromEntries(body.records.map((r: { purpose: string }) => [r.purpose, r]));
    expect(byPurpose).toMatchObject({
      verification: { type: 'TXT', name: `_mailroom.${name}`, value: d.verificationRecord.value, required: true, check: null },
      mx: { type: 'MX', name, value: HOSTS.mxHosts[0]!.host, priority: 10, required: true },
      autoconfig: { type: 'CNAME', name: `autoconfig.${name}`, value: HOSTS.webHost },
      autodiscover: { type: 'CNAME', name: `autodiscover.${name}`, value: HOSTS.webHost },
      'pop3s-srv': { type: 'SRV', name: `_pop3s._tcp.${name}`, value: `0 1 ${HOSTS.pop3sPort} ${HOSTS.mailHost}` },
      'pop3-srv': { type: 'SRV', name: `_pop3._tcp.${name}`, value: `0 1 ${HOSTS.pop3Port} ${HOSTS.mailHost}` },
      dmarc: { type: 'TXT', name: `_dmarc.${name}`, required: false },
    });
    expect(byPurpose.dmarc.value).toMatch(/^v=DMARC1; p=none/);
    expect(body.notes.join(' ')).toMatch(/sends no mail|sends none/);
    expect(body.notes.join(' ')).toContain('SPF and DKIM');

    await publish({
      txt: [
        [`_mailroom.${name}`, d.verificationRecord.value],
        [`_dmarc.${name}`, 'v=DMARC1; p=reject'],
      ],
      mx: [[name, 'mx.elsewhere.test', 5]],
      cname: [[`autoconfig.${name}`, HOSTS.webHost]],
      srv: [[`_pop3s._tcp.${name}`, HOSTS.mailHost, 995, 0, 1]],
    });
    const checked = (await call(t.app, o.s, 'GET', `/api/v1/domains/${d.id}/dns?check=true`)).json();
    expect(checked.checkedAt).not.toBeNull();
    const status = Object.fromEntries(checked.records.map((r: { purpose: string; check: unknown }) => [r.purpose, r.check]));
    expect(status).toEqual({
      verification: { status: 'ok', found: [d.verificationRecord.value] },
      mx: { status: 'different', found: ['5 mx.elsewhere.test'] },
      autoconfig: { status: 'ok', found: [HOSTS.webHost] },
      autodiscover: { status: 'missing', found: [] },
      'pop3s-srv': { status: 'different', found: [`0 1 995 ${HOSTS.mailHost}`] },
      'pop3-srv': { status: 'missing', found: [] },
      dmarc: { status: 'ok', found: ['v=DMARC1; p=reject'] },
    });

    // Another tenant's domain is a 404, checked or not.
    const stranger = await owner();
    expect((await call(t.app, stranger.s, 'GET', `/api/v1/domains/${d.id}/dns?check=true`)).statusCode).toBe(404);
  });

  test('a domain whose DNS fails keeps its MX state but goes to the back of the re-check rotation (it cannot starve the rest)', async () => {
    const o = await owner();
    await call(t.app, admin, 'POST', '/api/v1/domains', { name: domainName(), ownerId: o.id, verified: true });
    const dead = createDnsLookup({ servers: [`127.0.0.1:${await findFreePort()}`], timeoutMs: 200 });
    const first = await t.prisma.domain.findFirstOrThrow({
      where: { verifiedAt: { not: null } },
      orderBy: [{ lastDnsCheckAt: { sort: 'asc', nulls: 'first' } }, { id: 'asc' }],
    });
    const before = first.mxStatus;
    expect(await recheckDomains(t.prisma, { dns: dead, mxHosts: HOSTS.mxHosts, mtaStsMaxAgeSeconds: 86_400 }, { limit: 1 })).toMatchObject({
      checked: 0,
      unavailable: 1,
    });
    const after = await t.prisma.domain.findUniqueOrThrow({ where: { id: first.id } });
    expect(after.mxStatus).toBe(before);
    expect(after.lastDnsCheckAt).not.toBeNull();
    const next = await t.prisma.domain.findFirstOrThrow({
      where: { verifiedAt: { not: null } },
      orderBy: [{ lastDnsCheckAt: { sort: 'asc', nulls: 'first' } }, { id: 'asc' }],
    });
    expect(next.id).not.toBe(first.id);
  });

  test('the MX re-check flags a verified domain whose MX no longer points here; the domain shows it', async () => {
    const o = await owner();
    const good = (await call(t.app, admin, 'POST', '/api/v1/domains', { name: domainName(), ownerId: o.id, verified: true })).json();
    const moved = (await call(t.app, admin, 'POST', '/api/v1/domains', { name: domainName(), ownerId: o.id, verified: true })).json();
    const gone = (await call(t.app, admin, 'POST', '/api/v1/domains', { name: domainName(), ownerId: o.id, verified: true })).json();
    await publish({
      mx: [
        [good.name, HOSTS.mxHosts[0]!.host.toUpperCase(), 10],
        [moved.name, 'mx.other-provider.test', 10],
      ],
    });
    expect(good.mxStatus).toBeNull();

    const lookup = createDnsLookup({ servers: [h.dns.server], timeoutMs: 2_000 });
    // Several runs until our three were reached (other tests' domains are checked too).
    for (let i = 0; i < 20; i++) {
      await recheckDomains(t.prisma, { dns: lookup, mxHosts: HOSTS.mxHosts, mtaStsMaxAgeSeconds: 86_400 }, { limit: 50 });
      const rows = await t.prisma.domain.findMany({ where: { id: { in: [good.id, moved.id, gone.id] } } });
      if (rows.every((r) => r.lastDnsCheckAt)) break;
    }
    const get = async (id: string) => (await call(t.app, o.s, 'GET', `/api/v1/domains/${id}`)).json();
    expect(await get(good.id)).toMatchObject({ mxStatus: 'ok' });
    expect(await get(moved.id)).toMatchObject({ mxStatus: 'different' });
    expect(await get(gone.id)).toMatchObject({ mxStatus: 'missing' });
    expect((await get(gone.id)).lastDnsCheckAt).not.toBeNull();
    const listed = (await call(t.app, o.s, 'GET', '/api/v1/domains')).json().items;
    expect(listed.find((x: { id: string }) => x.id === moved.id).mxStatus).toBe('different');
  });

  test('expired claims are neither listed nor verifiable and are pruned (audited) on the next verify', async () => {
    const o = await owner();
    const name = domainName();
    const d = (await call(t.app, o.s, 'POST', '/api/v1/domains', { name })).json();
    await t.prisma.domain.update({ where: { id: d.id }, data: { claimExpiresAt: new Date(Date.now() - 1000) } });
    expect((await call(t.app, o.s, 'GET', '/api/v1/domains')).json().items.map((x: { id: string }) => x.id)).not.toContain(d.id);
    await publish({ txt: [[`_mailroom.${name}`, d.verificationRecord.value]] });
    expect((await call(t.app, o.s, 'POST', `/api/v1/domains/${d.id}/verify`)).statusCode).toBe(404);
    expect(await t.prisma.domain.count({ where: { id: d.id } })).toBe(0);
    expect(await t.prisma.auditEvent.count({ where: { action: 'domain.claim_expired', targetId: d.id, ownerId: o.id } })).toBe(1);
  });
});

describe.skipIf(!haveDnsmasq)('a dead resolver', () => {
  test('verify and live checks answer 503 DNS_UNAVAILABLE with a clear message; the domain stays pending', async () => {
    const dead = await createTestApp({ onboarding: onboarding([`127.0.0.1:${await findFreePort()}`], 300) });
    try {
      const o = await createUser(dead);
      const s = await login(dead.app, o.email, o.password);
      const d = (await call(dead.app, s, 'POST', '/api/v1/domains', { name: domainName() })).json();
      const res = await call(dead.app, s, 'POST', `/api/v1/domains/${d.id}/verify`);
      expect(res.statusCode, res.body).toBe(503);
      expect(res.json()).toMatchObject({ code: 'DNS_UNAVAILABLE', detail: expect.stringContaining('DNS resolver could not answer') });
      const check = await call(dead.app, s, 'GET', `/api/v1/domains/${d.id}/dns?check=true`);
      expect(check.statusCode).toBe(503);
      expect(check.json().code).toBe('DNS_UNAVAILABLE');
      expect((await call(dead.app, s, 'GET', `/api/v1/domains/${d.id}`)).json().verificationStatus).toBe('pending');
    } finally {
      await dead.close();
    }
  });
});
