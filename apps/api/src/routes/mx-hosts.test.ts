// Several MX hosts (MAILROOM_MX_HOST="10 mx1…, 20 mx2…"): the DNS guide, its live check, the periodic re-check and
// MTA-STS, through the real API against a real DNS server (dnsmasq on loopback); policies are read back with
// mailauth's parser and MX matcher, as WildDuck's and ZoneMTA's senders apply them.
import { createDnsLookup, recheckDomains } from '@mailroom/core';
import { haveDnsmasq } from '@mailroom/core/testing';
import { baseEnvSchema, domainOnboardingConfig, parseEnv } from '@mailroom/runtime';
import { parsePolicy, validateMx } from 'mailauth/lib/mta-sts.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createDnsTestApp, createUser, type Credentials, type DnsTestApp, login, uniqueName } from '../testing.ts';

const ZONE = 'mxs.test';
// as an operator writes it: mixed case, a root dot, the backup first
const MX_SETTING = '20 MX2.Mailroom.test., 10 mx1.mailroom.test';
const MX1 = 'mx1.mailroom.test';
const MX2 = 'mx2.mailroom.test';

let h: DnsTestApp;
const onboarding = domainOnboardingConfig(
  parseEnv(baseEnvSchema, { MAILROOM_MX_HOST: MX_SETTING, MAILROOM_PUBLIC_HOST: 'pop.mailroom.test' }),
);

/** A verified domain of a new owner, made by the admin, and that owner's session. */
async function hostedDomain() {
  const o = await createUser(h.t);
  const s = await login(h.t.app, o.email, o.password);
  const name = `${uniqueName('m')}.${ZONE}`;
  const res = await call(h.t.app, h.admin, 'POST', '/api/v1/domains', { name, ownerId: o.id, verified: true });
  expect(res.statusCode, res.body).toBe(201);
  return { s, d: res.json() as { id: string; name: string } };
}

type Rec = {
  purpose: string;
  value: string;
  priority: number | null;
  required: boolean;
  check: { status: string; found: string[] } | null;
};
const mxRecords = async (s: Credentials, id: string, check = false): Promise<Rec[]> =>
  (await call(h.t.app, s, 'GET', `/api/v1/domains/${id}/dns${check ? '?check=true' : ''}`))
    .json()
    .records.filter((r: Rec) => r.purpose === 'mx');

describe.skipIf(!haveDnsmasq)('several MX hosts (dnsmasq on loopback)', () => {
  beforeAll(async () => {
    h = await createDnsTestApp([ZONE], { ...onboarding, mtaStsMaxAgeSeconds: 86_400 });
  });
  afterAll(() => h?.close());

  test('the setting is read in priority order, and the DNS guide lists one MX record per host, the most preferred required', async () => {
    expect(onboarding.mxHosts).toEqual([
      { host: MX1, priority: 10 },
      { host: MX2, priority: 20 },
    ]);
    const { s, d } = await hostedDomain();
    const listed = await mxRecords(s, d.id);
    expect(listed).toEqual([
      expect.objectContaining({ value: MX1, priority: 10, required: true, check: null }),
      expect.objectContaining({ value: MX2, priority: 20, required: false, check: null }),
    ]);
    expect((listed[0] as unknown as { description: string }).description).toContain(`${MX1} or ${MX2}`);
  });

  test('each MX record is checked on its own; a domain naming only the backup, or one host in any spelling, still receives mail', async () => {
    const { s, d } = await hostedDomain();
    expect((await mxRecords(s, d.id, true)).map((r) => r.check!.status)).toEqual(['missing', 'missing']);

    await h.publish({ mx: [[d.name, MX2.toUpperCase(), 5]] });
    const backupOnly = await mxRecords(s, d.id, true);
    expect(backupOnly.map((r) => r.check)).toEqual([
      // (dnsmasq answers in lower case)
      { status: 'different', found: [`5 ${MX2}`] },
      { status: 'ok', found: [`5 ${MX2}`] },
    ]);

    // the periodic re-check: ok when any record names one of the hosts, different when none does, missing without MX
    const both = await hostedDomain();
    const elsewhere = await hostedDomain();
    const none = await hostedDomain();
    await h.publish({
      mx: [
        [both.d.name, MX1, 10],
        [both.d.name, MX2, 20],
        [elsewhere.d.name, 'mx.other-provider.test', 10],
        // a look-alike is not ours: the whole name is compared
        [elsewhere.d.name, `${MX1}.evil.test`, 20],
        [elsewhere.d.name, `x${MX2}`, 30],
      ],
    });
    expect((await mxRecords(both.s, both.d.id, true)).map((r) => r.check!.status)).toEqual(['ok', 'ok']);
    expect((await mxRecords(elsewhere.s, elsewhere.d.id, true)).map((r) => r.check!.status)).toEqual(['different', 'different']);
    const lookup = createDnsLookup({ servers: [h.dns.server], timeoutMs: 2_000 });
    // other test files' domains share the database (their zones are not this server's): those count as unavailable
    const r = await recheckDomains(h.t.prisma, { dns: lookup, mxHosts: onboarding.mxHosts, mtaStsMaxAgeSeconds: 86_400 }, { limit: 1_000 });
    const status = async (x: { s: Credentials; d: { id: string } }) =>
      (await call(h.t.app, x.s, 'GET', `/api/v1/domains/${x.d.id}`)).json().mxStatus;
    expect(await status({ s, d })).toBe('ok');
    expect(await status(both)).toBe('ok');
    expect(await status(elsewhere)).toBe('different');
    expect(await status(none)).toBe('missing');
    const ours = new Set([d.id, both.d.id, elsewhere.d.id, none.d.id]);
    expect(
      r.flagged
        .filter((f) => ours.has(f.domainId))
        .map((f) => f.domainId)
        .sort(),
    ).toEqual([elsewhere.d.id, none.d.id].sort());
  });

  test('MTA-STS lists every host; enforce is accepted while each MX record names one of them, refused with one elsewhere', async () => {
    const { s, d } = await hostedDomain();
    const missing = await call(h.t.app, s, 'PUT', `/api/v1/domains/${d.id}/mta-sts`, { mode: 'enforce' });
    expect(missing.statusCode, missing.body).toBe(422);
    expect(missing.json()).toMatchObject({ code: 'DNS_RECORD_MISSING', details: { expected: { type: 'MX', value: `${MX1}, ${MX2}` } } });
    expect(missing.json().detail).toContain(`${MX1} or ${MX2}`);

    await h.publish({
      mx: [
        [d.name, MX1, 10],
        [d.name, `${MX2}.`, 20],
        [d.name, 'backup.elsewhere.test', 30],
      ],
    });
    const refused = await call(h.t.app, s, 'PUT', `/api/v1/domains/${d.id}/mta-sts`, { mode: 'enforce' });
    expect(refused.statusCode, refused.body).toBe(422);
    expect(refused.json().code).toBe('DNS_RECORD_MISMATCH');
    expect(refused.json().detail).toContain('backup.elsewhere.test');
    expect(refused.json().detail).not.toContain(MX2);

    const ours = await hostedDomain();
    await h.publish({
      mx: [
        [ours.d.name, MX1.toUpperCase(), 10],
        [ours.d.name, MX2, 20],
      ],
    });
    const enforced = await call(h.t.app, ours.s, 'PUT', `/api/v1/domains/${ours.d.id}/mta-sts`, { mode: 'enforce' });
    expect(enforced.statusCode, enforced.body).toBe(200);
    expect(enforced.json().policy).toBe(`version: STSv1\r\nmode: enforce\r\nmx: ${MX1}\r\nmx: ${MX2}\r\nmax_age: 86400\r\n`);
    const served = await h.t.app.inject({ method: 'GET', url: `/api/mta-sts/policy?host=mta-sts.${ours.d.name}` });
    expect(served.statusCode).toBe(200);
    const policy = parsePolicy(served.body);
    expect(policy).toMatchObject({ mode: 'enforce', mx: [MX1, MX2] });
    // a sender enforcing it delivers to either host and to no other
    expect(validateMx(MX1, policy).valid).toBe(true);
    expect(validateMx(MX2, policy).valid).toBe(true);
    expect(validateMx('backup.elsewhere.test', policy).valid).toBe(false);
  });
});
