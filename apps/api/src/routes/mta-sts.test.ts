// MTA-STS (RFC 8461) through the real API, against a real DNS server (dnsmasq on loopback); the policy served is read
// back with mailauth's parser and MX matcher, the code WildDuck's and ZoneMTA's senders apply to it.
import { createDnsLookup, recheckDomains } from '@mailroom/core';
import { haveDnsmasq } from '@mailroom/core/testing';
import { Resolver } from 'node:dns/promises';
import { parsePolicy, resolvePolicy, validateMx } from 'mailauth/lib/mta-sts.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  call,
  createDnsTestApp,
  createKey,
  createUser,
  type Credentials,
  type DnsTestApp,
  login,
  type TestContext,
  uniqueName,
} from '../testing.ts';

const ZONE = 'sts.test';
const MX = 'mx.mailroom.test';
const HOSTS = {
  mxHosts: [{ host: MX, priority: 10 }],
  mailHost: 'pop.mailroom.test',
  webHost: 'panel.mailroom.test',
  pop3Port: 1110,
  pop3sPort: 1995,
};
const MAX_AGE = 86_400;

let h: DnsTestApp;
let t: TestContext;
let admin: Credentials;
const publish = (records: Parameters<DnsTestApp['publish']>[0]) => h.publish(records);

async function owner() {
  const o = await createUser(t);
  return { ...o, s: await login(t.app, o.email, o.password) };
}

/** A verified domain of `ownerId` (made by the admin, as a billing system would). */
async function hostedDomain(ownerId: string, extra: Record<string, unknown> = {}) {
  const name = `${uniqueName('d')}.${ZONE}`;
  const res = await call(t.app, admin, 'POST', '/api/v1/domains', { name, ownerId, verified: true, ...extra });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; name: string };
}

const setMode = (creds: Credentials, id: string, mode: string | null) =>
  call(t.app, creds, 'PUT', `/api/v1/domains/${id}/mta-sts`, { mode });

/** The policy as a sender asks the panel for it: by the Host it connected to. */
const fetchPolicy = (host: string) => t.app.inject({ method: 'GET', url: `/api/mta-sts/policy?host=${encodeURIComponent(host)}` });

describe.skipIf(!haveDnsmasq)('MTA-STS (dnsmasq on loopback)', () => {
  beforeAll(async () => {
    h = await createDnsTestApp([ZONE], { ...HOSTS, mtaStsMaxAgeSeconds: MAX_AGE });
    ({ t, admin } = h);
  });
  afterAll(() => h?.close());

  test('testing mode: the policy is served by Host in any spelling, parses as senders parse it, and its records check out', async () => {
    const o = await owner();
    const d = await hostedDomain(o.id);
    const before = await call(t.app, o.s, 'GET', `/api/v1/domains/${d.id}/mta-sts`);
    expect(before.json()).toMatchObject({ mode: null, policy: null, record: null, served: false, changedAt: null, maxAgeSeconds: MAX_AGE });
    expect((await fetchPolicy(`mta-sts.${d.name}`)).statusCode).toBe(404);
    const dnsBefore = await call(t.app, o.s, 'GET', `/api/v1/domains/${d.id}/dns`);
    expect(dnsBefore.json().records.map((r: { purpose: string }) => r.purpose)).not.toContain('mta-sts');

    const set = await setMode(o.s, d.id, 'testing');
    expect(set.statusCode, set.body).toBe(200);
    const sts = set.json();
    expect(sts).toMatchObject({
      mode: 'testing',
      served: true,
      policyUrl: `https://mta-sts.${d.name}/.well-known/mta-sts.txt`,
      policy: `version: STSv1\r\nmode: testing\r\nmx: ${MX}\r\nmax_age: ${MAX_AGE}\r\n`,
      record: { type: 'TXT', name: `_mta-sts.${d.name}` },
    });
    expect(sts.record.value).toMatch(/^v=STSv1; id=[a-f0-9]{20}$/);
    expect(new Date(sts.previousPolicyCachedUntil).getTime() - new Date(sts.changedAt).getTime()).toBe(MAX_AGE * 1000);

    for (const host of [`mta-sts.${d.name}`, `MTA-STS.${d.name.toUpperCase()}:443`, `mta-sts.${d.name}.`]) {
      const res = await fetchPolicy(host);
      expect(res.statusCode, host).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(res.body).toBe(sts.policy);
    }
    const parsed = parsePolicy((await fetchPolicy(`mta-sts.${d.name}`)).body);
    expect(parsed).toMatchObject({ version: 'STSv1', mode: 'testing', maxAge: MAX_AGE, mx: [MX] });
    expect(validateMx(MX, parsed).valid).toBe(true);
    expect(validateMx('backup.elsewhere.test', parsed).valid).toBe(false);

    expect((await call(t.app, o.s, 'GET', `/api/v1/domains/${d.id}`)).json().mtaStsMode).toBe('testing');
    const audit = await call(t.app, admin, 'GET', `/api/v1/audit-events?targetId=${d.id}&action=domain.mta-sts`);
    expect(audit.json().items).toEqual([
      expect.objectContaining({ action: 'domain.mta-sts', details: expect.objectContaining({ from: null, to: 'testing' }) }),
    ]);

    // The DNS guidance lists the three records; the live check reads them as senders would.
    const listed = await call(t.app, o.s, 'GET', `/api/v1/domains/${d.id}/dns?check=true`);
    const byPurpose = (purpose: string) => listed.json().records.find((r: { purpose: string }) => r.purpose === purpose);
    expect(byPurpose('mta-sts-host')).toMatchObject({ type: 'CNAME', name: `mta-sts.${d.name}`, value: HOSTS.webHost, required: true });
    expect(byPurpose('mta-sts')).toMatchObject({ type: 'TXT', value: sts.record.value, required: true, check: { status: 'missing' } });
    expect(byPurpose('tls-rpt')).toMatchObject({
      type: 'TXT',
      name: `_smtp._tls.${d.name}`,
      value: `v=TLSRPTv1; rua=mailto:postmaster@${d.name}`,
      required: false,
    });
    await publish({
      txt: [
        [`_mta-sts.${d.name}`, sts.record.value.replace('; ', ';')],
        [`_smtp._tls.${d.name}`, 'v=TLSRPTv1; rua=mailto:tls@reports.example'],
      ],
      cname: [[`mta-sts.${d.name}`, HOSTS.webHost]],
    });
    // a sender's own lookup of the record (mailauth's, over the same DNS server) finds the policy's id
    const resolver = new Resolver();
    resolver.setServers([h.dns.server]);
    const senderLookup = (name: string, type: string) => resolver.resolve(name, type as 'TXT');
    expect(await resolvePolicy(d.name, { resolver: senderLookup } as never)).toBe(sts.record.value.split('id=')[1]);
    const checked = (await call(t.app, o.s, 'GET', `/api/v1/domains/${d.id}/dns?check=true`)).json().records;
    for (const purpose of ['mta-sts-host', 'mta-sts', 'tls-rpt']) {
      expect(checked.find((r: { purpose: string }) => r.purpose === purpose).check.status, purpose).toBe('ok');
    }

    // The periodic re-check (worker, CLI) finds the record too, and the domain says so.
    const lookup = createDnsLookup({ servers: [h.dns.server], timeoutMs: 2_000 });
    await recheckDomains(t.prisma, { dns: lookup, mxHosts: HOSTS.mxHosts, mtaStsMaxAgeSeconds: MAX_AGE }, { limit: 1_000 });
    expect((await call(t.app, o.s, 'GET', `/api/v1/domains/${d.id}`)).json()).toMatchObject({
      mtaStsMode: 'testing',
      mtaStsRecordStatus: 'ok',
    });

    // A new mode is a new policy, so a new id: the published record is now out of date, and the check says so.
    const none = (await setMode(o.s, d.id, 'none')).json();
    expect((await call(t.app, o.s, 'GET', `/api/v1/domains/${d.id}`)).json().mtaStsRecordStatus).toBeNull();
    const rechecked = await recheckDomains(
      t.prisma,
      { dns: lookup, mxHosts: HOSTS.mxHosts, mtaStsMaxAgeSeconds: MAX_AGE },
      { limit: 1_000 },
    );
    expect(rechecked.mtaStsFlagged).toContainEqual({ domainId: d.id, name: d.name, status: 'different' });
    expect((await call(t.app, o.s, 'GET', `/api/v1/domains/${d.id}`)).json().mtaStsRecordStatus).toBe('different');
    expect((await call(t.app, o.s, 'GET', '/api/v1/domains/summary')).json()).toMatchObject({ domains: 1, mtaStsFlagged: 1 });
    expect(none.record.value).not.toBe(sts.record.value);
    const stale = (await call(t.app, o.s, 'GET', `/api/v1/domains/${d.id}/dns?check=true`)).json().records;
    expect(stale.find((r: { purpose: string }) => r.purpose === 'mta-sts').check).toMatchObject({
      status: 'different',
      found: [sts.record.value.replace('; ', ';')],
    });
    expect(parsePolicy((await fetchPolicy(`mta-sts.${d.name}`)).body).mode).toBe('none');
  });

  test('enforce only while every MX record names Mailroom; leaving it goes through none (RFC 8461 §8.3)', async () => {
    const o = await owner();
    const d = await hostedDomain(o.id);
    const missing = await setMode(o.s, d.id, 'enforce');
    expect(missing.statusCode, missing.body).toBe(422);
    expect(missing.json()).toMatchObject({ code: 'DNS_RECORD_MISSING', details: { expected: { type: 'MX', value: MX }, found: [] } });

    await publish({
      mx: [
        [d.name, MX.toUpperCase(), 10],
        [d.name, 'backup.elsewhere.test', 20],
      ],
    });
    const other = await setMode(o.s, d.id, 'enforce');
    expect(other.statusCode, other.body).toBe(422);
    expect(other.json().code).toBe('DNS_RECORD_MISMATCH');
    expect(other.json().detail).toContain('backup.elsewhere.test');
    expect((await call(t.app, o.s, 'GET', `/api/v1/domains/${d.id}/mta-sts`)).json().mode).toBeNull();

    const d2 = await hostedDomain(o.id);
    await publish({ mx: [[d2.name, `${MX.toUpperCase()}`, 10]] });
    const enforced = await setMode(o.s, d2.id, 'enforce');
    expect(enforced.statusCode, enforced.body).toBe(200);
    expect(parsePolicy((await fetchPolicy(`mta-sts.${d2.name}`)).body)).toMatchObject({ mode: 'enforce', mx: [MX] });

    const dropped = await setMode(o.s, d2.id, null);
    expect(dropped.statusCode, dropped.body).toBe(409);
    expect(dropped.json()).toMatchObject({ code: 'CONFLICT', details: { mode: 'enforce' } });
    expect((await setMode(o.s, d2.id, 'none')).statusCode).toBe(200);
    expect((await fetchPolicy(`mta-sts.${d2.name}`)).body).toContain('mode: none\r\n');
    const off = await setMode(o.s, d2.id, null);
    expect(off.statusCode, off.body).toBe(200);
    expect(off.json()).toMatchObject({ mode: null, policy: null, served: false });
    expect((await fetchPolicy(`mta-sts.${d2.name}`)).statusCode).toBe(404);
  });

  test('only hosted domains are answered, all with the same 404; odd hosts and a missing host are refused', async () => {
    const o = await owner();
    const pending = await call(t.app, o.s, 'POST', '/api/v1/domains', { name: `${uniqueName('p')}.${ZONE}` });
    expect(pending.statusCode, pending.body).toBe(201);
    // a pending claim may choose its mode ahead of verification, but nothing is served for it
    const p = await setMode(o.s, pending.json().id, 'testing');
    expect(p.json()).toMatchObject({ mode: 'testing', served: false });

    const disabled = await hostedDomain(o.id);
    await setMode(o.s, disabled.id, 'testing');
    expect((await fetchPolicy(`mta-sts.${disabled.name}`)).statusCode).toBe(200);
    await call(t.app, o.s, 'PATCH', `/api/v1/domains/${disabled.id}`, { active: false });
    expect((await call(t.app, o.s, 'GET', `/api/v1/domains/${disabled.id}/mta-sts`)).json().served).toBe(false);

    const disabledOwner = await owner();
    const ofDisabled = await hostedDomain(disabledOwner.id);
    await setMode(disabledOwner.s, ofDisabled.id, 'testing');
    await call(t.app, admin, 'PATCH', `/api/v1/owners/${disabledOwner.id}`, { disabled: true });

    const noMode = await hostedDomain(o.id);
    const bodies = new Set<string>();
    for (const host of [
      `mta-sts.${pending.json().name}`,
      `mta-sts.${disabled.name}`,
      `mta-sts.${ofDisabled.name}`,
      `mta-sts.${noMode.name}`,
      `mta-sts.unknown-${uniqueName('u')}.${ZONE}`,
      noMode.name,
      `autoconfig.${noMode.name}`,
      '127.0.0.1',
      '[::1]:443',
      `mta-sts.${noMode.name}/../x`,
      `mta-sts.${'a'.repeat(240)}.test`,
    ]) {
      const res = await fetchPolicy(host);
      expect(res.statusCode, host).toBe(404);
      bodies.add(JSON.stringify({ code: res.json().code, detail: res.json().detail }));
    }
    expect(bodies.size).toBe(1);
    const noHost = await t.app.inject({ method: 'GET', url: '/api/mta-sts/policy' });
    expect(noHost.statusCode).toBe(400);
    expect(noHost.json().code).toBe('VALIDATION_FAILED');
    const huge = await fetchPolicy(`mta-sts.${'a'.repeat(400)}.test`);
    expect(huge.statusCode).toBe(400);
  });

  test('an alias domain has its own policy; bad modes and extra fields are 400; other tenants and narrow keys are refused', async () => {
    const o = await owner();
    const target = await hostedDomain(o.id);
    const alias = await hostedDomain(o.id, { aliasOf: target.id });
    expect((await setMode(o.s, alias.id, 'testing')).statusCode).toBe(200);
    expect(parsePolicy((await fetchPolicy(`mta-sts.${alias.name}`)).body).mode).toBe('testing');
    expect((await fetchPolicy(`mta-sts.${target.name}`)).statusCode).toBe(404);

    for (const body of [{ mode: 'ENFORCE' }, { mode: 'off' }, { mode: 1 }, {}, { mode: 'testing', maxAge: 60 }]) {
      const res = await call(t.app, o.s, 'PUT', `/api/v1/domains/${target.id}/mta-sts`, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }

    const other = await owner();
    expect((await call(t.app, other.s, 'GET', `/api/v1/domains/${target.id}/mta-sts`)).statusCode).toBe(404);
    expect((await setMode(other.s, target.id, 'testing')).statusCode).toBe(404);
    const readOnly = { key: await createKey(t.prisma, o.id, ['domains:read']) };
    expect((await call(t.app, readOnly, 'GET', `/api/v1/domains/${target.id}/mta-sts`)).statusCode).toBe(200);
    expect((await setMode(readOnly, target.id, 'testing')).statusCode).toBe(403);
    const elsewhere = { key: await createKey(t.prisma, o.id, ['domains:write'], [alias.id]) };
    expect((await setMode(elsewhere, target.id, 'testing')).statusCode).toBe(404);
    expect((await call(t.app, o.s, 'GET', `/api/v1/domains/${target.id}/mta-sts`)).json().mode).toBeNull();
  });
});
