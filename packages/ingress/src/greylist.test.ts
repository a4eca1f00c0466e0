// Greylisting on the SMTP listener (INGRESS_GREYLIST) over real sockets against the real database: clients connect from
// different loopback addresses (127.0.x.y), so each test has its own client networks; time is moved by moving a
// triplet's first attempt back in the table, never by waiting.
import { spawnSync } from 'node:child_process';
import { parseTrustedProxies } from '@mailroom/core';
import { haveDnsmasq, startDnsServer, type TestDnsServer } from '@mailroom/core/testing';
import { pgPoolOf } from '@mailroom/db';
import { uniqueName } from '@mailroom/db/testing';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { ingressConfigFromEnv, loadIngressEnv } from './config.ts';
import { Greylist, greylistClient, greylistSender, type GreylistConfig } from './greylist.ts';
import { createFixture, mailboxState, testPrisma, type Fixture } from './testing/fixtures.ts';
import { runClient, startIngress } from './testing/harness.ts';
import { greylistConfig, smtpAttempt as attempt } from './testing/smtp.ts';
import { WireClient } from './testing/wire-client.ts';

/** A client network's greylisting rows. */
const rowsOf = (prisma: ReturnType<typeof testPrisma>, client: string) => prisma.greylistEntry.findMany({ where: { client } });

describe('the greylisting triplet', () => {
  test('one sender of a list or bounce service is one sender: case, BATV, SRS, subaddress and VERP numbers', () => {
    expect(greylistSender('Alice@Example.COM')).toBe('alice@example.com');
    expect(greylistSender('')).toBe('<>');
    expect(greylistSender('prvs=0123abcdef=alice@example.com')).toBe('alice@example.com');
    expect(greylistSender('SRS0=HHH=TT=example.org=bob@forwarder.example')).toBe('bob@example.org');
    expect(greylistSender('alice+newsletter@example.com')).toBe('alice@example.com');
    expect(greylistSender('bounce-4711-99@list.example')).toBe(greylistSender('bounce-4712-3@list.example'));
    expect(greylistSender('bounce-4711@list.example')).toBe('bounce-#@list.example');
    // the domain's digits stay: another domain is another sender
    expect(greylistSender('a@mx1.example')).not.toBe(greylistSender('a@mx2.example'));
  });

  test('the client is its network: IPv4 /24, IPv6 /64, an IPv4-mapped address as IPv4', () => {
    expect(greylistClient('192.0.2.77')).toBe('192.0.2.0/24');
    expect(greylistClient('::ffff:192.0.2.77')).toBe('192.0.2.0/24');
    expect(greylistClient('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
  });

  test('INGRESS_GREYLIST is off by default; its settings are read with postgrey defaults; nonsense stops the start', () => {
    const off = ingressConfigFromEnv(loadIngressEnv({}), 'h').greylist;
    expect(off).toMatchObject({ enabled: false, skipSpfPass: true });
    expect(off?.exempt.none).toBe(true);
    const on = ingressConfigFromEnv(loadIngressEnv({ INGRESS_GREYLIST: 'true' }), 'h').greylist;
    expect(on).toMatchObject({ enabled: true, delaySeconds: 300, retryWindowHours: 48, maxAgeDays: 35, autoWhitelistClients: 5 });
    expect(on?.skip.has('127.0.0.1')).toBe(true);
    const exempt = loadIngressEnv({
      INGRESS_GREYLIST_EXEMPT_CLIENTS: '192.0.2.0/24, 2001:db8::/32',
      INGRESS_GREYLIST_SKIP_SPF_PASS: 'false',
    });
    const set0 = ingressConfigFromEnv(exempt, 'h').greylist;
    expect([set0?.exempt.has('192.0.2.9'), set0?.exempt.has('2001:db8::1'), set0?.exempt.has('192.0.3.1'), set0?.skipSpfPass]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(() => loadIngressEnv({ INGRESS_GREYLIST_EXEMPT_CLIENTS: 'everyone' })).toThrow(/INGRESS_GREYLIST_EXEMPT_CLIENTS/);
    const set = loadIngressEnv({ INGRESS_GREYLIST: '1', INGRESS_GREYLIST_DELAY_S: '60', INGRESS_GREYLIST_AUTO_WHITELIST: '0' });
    expect(ingressConfigFromEnv(set, 'h').greylist).toMatchObject({ delaySeconds: 60, autoWhitelistClients: 0 });
    expect(() => loadIngressEnv({ INGRESS_GREYLIST: '1', INGRESS_GREYLIST_DELAY_S: '-5' })).toThrow(/INGRESS_GREYLIST_DELAY_S/);
    expect(() => loadIngressEnv({ INGRESS_GREYLIST_RETRY_WINDOW_H: '0' })).toThrow(/INGRESS_GREYLIST_RETRY_WINDOW_H/);
  });
});

describe('greylisting on the SMTP listener (real sockets, real database)', () => {
  const prisma = testPrisma(6);
  let f: Fixture;
  const config = (over: Partial<GreylistConfig> = {}) => ({
    greylist: greylistConfig({ skip: parseTrustedProxies('127.0.9.9'), ...over }),
  });
  // earlier runs share the database: each test's client networks start empty
  const networks = [2, 3, 4, 5, 6, 7, 8, 10, 11].map((n) => `127.0.${n}.0/24`);
  /** Moves the first attempts of a client network's triplets back by `seconds` (as if that much time had passed). */
  const age = (client: string, seconds: number) =>
    prisma.$executeRaw`UPDATE greylist SET first_seen = first_seen - make_interval(secs => ${seconds}::int) WHERE client = ${client}`;

  beforeAll(async () => {
    f = await createFixture(prisma);
    await prisma.greylistEntry.deleteMany({ where: { client: { in: networks } } });
  });
  afterAll(async () => prisma.$disconnect());

  it('defers a new triplet with 451 4.7.1 until its retry comes after the delay, then delivers it and passes it at once', async () => {
    const ing = await startIngress(prisma, config());
    try {
      const box = await f.mailbox(uniqueName('grey'));
      const sender = 'bounce-4711@list.example';
      const first = await attempt(ing.ports.smtp, '127.0.2.10', sender, [box.address]);
      expect(first.replies).toEqual([expect.stringMatching(/^451 4\.7\.1 Greylisted, please try again in (3600|3599) seconds$/)]);
      expect(first.data).toBeNull();
      // an unknown recipient is refused for good, and not recorded
      const unknown = await attempt(ing.ports.smtp, '127.0.2.10', sender, [`nobody-${uniqueName('x')}@${f.domain}`]);
      expect(unknown.replies[0]).toMatch(/^550 5\.1\.1/);
      expect(await rowsOf(prisma, '127.0.2.0/24')).toHaveLength(1);
      // a retry too early is deferred again; its wait is counted from the first attempt
      const early = await attempt(ing.ports.smtp, '127.0.2.10', sender, [box.address]);
      expect(early.replies[0]).toMatch(/^451 4\.7\.1/);
      await age('127.0.2.0/24', 3000);
      expect((await attempt(ing.ports.smtp, '127.0.2.10', sender, [box.address])).replies[0]).toMatch(/try again in (600|599) seconds$/);
      // after the delay: delivered
      await age('127.0.2.0/24', 700);
      const retry = await attempt(ing.ports.smtp, '127.0.2.10', sender, [box.address], 'after the delay');
      expect([retry.replies[0]?.slice(0, 3), retry.data]).toEqual(['250', 250]);
      // from then on the same triplet passes at once: another host of the network, another VERP number, the
      // recipient in capitals
      const again = await attempt(ing.ports.smtp, '127.0.2.77', 'bounce-4712@list.example', [box.address.toUpperCase()], 'next');
      expect([again.replies[0]?.slice(0, 3), again.data]).toEqual(['250', 250]);
      const state = await mailboxState(prisma, box.id);
      expect(state.messages.map((m) => /Subject: (.*)\r\n/.exec(Buffer.from(m.raw).toString('latin1'))?.[1])).toEqual([
        'after the delay',
        'next',
      ]);
      // another sender, or another network, is a new triplet
      expect((await attempt(ing.ports.smtp, '127.0.2.10', 'other@list.example', [box.address])).replies[0]).toMatch(/^451/);
      expect((await attempt(ing.ports.smtp, '127.0.3.10', sender, [box.address])).replies[0]).toMatch(/^451/);
      // no address is stored: the triplet is a hash
      const rows = await rowsOf(prisma, '127.0.2.0/24');
      expect(rows.every((r) => r.key.length === 32)).toBe(true);
      expect(JSON.stringify(rows)).not.toContain('list.example');
      // the owner sees the deferrals in the delivery log, with the reason
      await ing.ingress.deliveryLog?.flush();
      const log = await prisma.deliveryLogEntry.findMany({
        where: { recipient: { equals: box.address, mode: 'insensitive' } },
        orderBy: { id: 'asc' },
      });
      expect(log.map((e) => `${e.result} ${e.replyCode} ${e.reason ?? ''}`.trim())).toEqual([
        'deferred 451 greylisted',
        'deferred 451 greylisted',
        'deferred 451 greylisted',
        'delivered 250',
        'delivered 250',
        'deferred 451 greylisted',
        'deferred 451 greylisted',
      ]);
      expect(log[0]).toMatchObject({ domainId: f.domainId, mailboxId: box.id });
      const metrics = await ing.ingress.metrics.registry.getSingleMetricAsString('mailroom_ingress_greylist_total');
      expect(metrics).toContain('result="deferred"} 5');
      expect(metrics).toContain('result="passed"} 1');
      expect(metrics).toContain('result="known"} 1');
    } finally {
      await ing.close();
    }
  });

  it('in one transaction a known triplet is delivered while a new one is deferred; LMTP and unchecked clients are never greylisted', async () => {
    const ing = await startIngress(prisma, config());
    try {
      const known = await f.mailbox(uniqueName('known'));
      const fresh = await f.mailbox(uniqueName('fresh'));
      const sender = 'alice@sender.example';
      await attempt(ing.ports.smtp, '127.0.4.1', sender, [known.address]);
      await age('127.0.4.0/24', 4000);
      const mixed = await attempt(ing.ports.smtp, '127.0.4.1', sender, [known.address, fresh.address], 'mixed');
      expect(mixed.replies.map((r) => r.slice(0, 3))).toEqual(['250', '451']);
      expect(mixed.data).toBe(250);
      expect((await mailboxState(prisma, known.id)).messageCount).toBe(1);
      expect((await mailboxState(prisma, fresh.id)).messageCount).toBe(0);
      // the operator's own relay (INGRESS_UNCHECKED_CLIENTS), and LMTP, deliver at once and leave no row
      const relayed = await attempt(ing.ports.smtp, '127.0.9.9', 'x@relay.example', [fresh.address], 'relayed');
      expect([relayed.replies[0]?.slice(0, 3), relayed.data]).toEqual(['250', 250]);
      const lmtp = await WireClient.connect(ing.ports.lmtp, '127.0.0.1', '127.0.5.5');
      expect((await lmtp.command('LHLO mta.example')).code).toBe(250);
      expect((await lmtp.command('MAIL FROM:<y@elsewhere.example>')).code).toBe(250);
      expect((await lmtp.command(`RCPT TO:<${fresh.address}>`)).code).toBe(250);
      await lmtp.quit();
      expect(await prisma.greylistEntry.count({ where: { client: { in: ['127.0.9.0/24', '127.0.5.0/24'] } } })).toBe(0);
    } finally {
      await ing.close();
    }
  });

  it('a client network that passed enough triplets is not greylisted any more; a retry after the window starts over', async () => {
    const ing = await startIngress(prisma, config({ autoWhitelistClients: 2 }));
    try {
      const box = await f.mailbox(uniqueName('wl'));
      const other = await f.mailbox(uniqueName('wl2'));
      for (const s of ['one@big.example', 'two@big.example']) {
        await attempt(ing.ports.smtp, '127.0.6.1', s, [box.address]);
        await age('127.0.6.0/24', 4000);
        expect((await attempt(ing.ports.smtp, '127.0.6.1', s, [box.address])).replies[0]).toMatch(/^250/);
      }
      // two passed triplets: a new sender and recipient from the network pass at once
      const next = await attempt(ing.ports.smtp, '127.0.6.200', 'three@big.example', [other.address]);
      expect([next.replies[0]?.slice(0, 3), next.data]).toEqual(['250', 250]);
      const metrics = await ing.ingress.metrics.registry.getSingleMetricAsString('mailroom_ingress_greylist_total');
      expect(metrics).toContain('result="whitelisted"} 1');
      // a sender that never came back within the retry window (48 h) starts over
      await attempt(ing.ports.smtp, '127.0.7.1', 'late@slow.example', [box.address]);
      await age('127.0.7.0/24', 49 * 3600);
      expect((await attempt(ing.ports.smtp, '127.0.7.1', 'late@slow.example', [box.address])).replies[0]).toMatch(
        /^451 4\.7\.1 Greylisted, please try again in (3600|3599) seconds$/,
      );
    } finally {
      await ing.close();
    }
  });

  it('abuse: a burst of first attempts for one triplet leaves one row and no delivery; stale rows are pruned', async () => {
    const ing = await startIngress(prisma, config());
    try {
      const box = await f.mailbox(uniqueName('burst'));
      const burst = await Promise.all(
        Array.from({ length: 12 }, (_, i) => attempt(ing.ports.smtp, `127.0.8.${100 + i}`, 'spam@burst.example', [box.address])),
      );
      expect(burst.every((b) => b.replies[0]?.startsWith('451 4.7.1') && b.data === null)).toBe(true);
      expect((await mailboxState(prisma, box.id)).messageCount).toBe(0);
      expect((await rowsOf(prisma, '127.0.8.0/24')).map((r) => r.passedAt)).toEqual([null]);
      // pruning: an unpassed triplet past its retry window and a passed one not seen for the maximum age go
      await prisma.$executeRaw`UPDATE greylist SET first_seen = now() - interval '49 hours', last_seen = now() - interval '49 hours'
        WHERE client = '127.0.8.0/24'`;
      await prisma.greylistEntry.create({
        data: {
          key: Buffer.alloc(32, 7),
          client: '127.0.8.0/24',
          passedAt: new Date(Date.now() - 40 * 86_400_000),
          lastSeen: new Date(Date.now() - 36 * 86_400_000),
        },
      });
      await prisma.greylistEntry.create({ data: { key: Buffer.alloc(32, 8), client: '127.0.8.0/24', passedAt: new Date() } });
      const greylist = new Greylist(pgPoolOf(prisma)!, config().greylist);
      expect(await greylist.prune(1)).toBeGreaterThanOrEqual(2);
      expect((await rowsOf(prisma, '127.0.8.0/24')).map((r) => Buffer.from(r.key).toString('hex'))).toEqual([
        Buffer.alloc(32, 8).toString('hex'),
      ]);
    } finally {
      await ing.close();
    }
  });

  it.skipIf(spawnSync('swaks', ['--version']).status !== 0)(
    'swaks, a real SMTP client, is deferred and then delivered on its retry',
    async () => {
      const ing = await startIngress(prisma, config());
      try {
        const box = await f.mailbox(uniqueName('swaks'));
        const swaks = () =>
          runClient('swaks', [
            ...['--server', '127.0.0.1', '--port', String(ing.ports.smtp), '--local-interface', '127.0.5.25'],
            ...['--helo', 'swaks.test', '--from', 'news@swaks.example', '--to', box.address, '--hide-informational'],
          ]);
        const first = await swaks();
        expect(first.status, first.stdout).not.toBe(0);
        expect(first.stdout).toMatch(/<\*\* +451 4\.7\.1 Greylisted, please try again in \d+ seconds/);
        expect((await mailboxState(prisma, box.id)).messageCount).toBe(0);
        await age('127.0.5.0/24', 3601);
        const retry = await swaks();
        expect(retry.status, retry.stdout + retry.stderr).toBe(0);
        expect((await mailboxState(prisma, box.id)).messageCount).toBe(1);
      } finally {
        await ing.close();
      }
    },
  );

  it("a domain's own setting overrides INGRESS_GREYLIST either way; an alias domain follows its target; exempt clients pass", async () => {
    const sender = 'someone@settings.example';
    const off = await f.domainRow({ greylisting: false });
    const offAlias = await f.domainRow({ aliasOf: off.id });
    const on = await f.domainRow({ greylisting: true });
    const inOff = await f.mailbox(uniqueName('off'), { domainId: off.id });
    const inOn = await f.mailbox(uniqueName('on'), { domainId: on.id });
    const inDefault = await f.mailbox(uniqueName('dflt'));
    const viaAlias = inOff.address.replace(off.name, offAlias.name);
    // the operator greylists: a domain that said no is not, nor its alias domain; the rest of the server is
    const ing = await startIngress(prisma, config({ exempt: parseTrustedProxies('127.0.11.0/24') }));
    try {
      const r = await attempt(ing.ports.smtp, '127.0.10.1', sender, [inOff.address, inDefault.address]);
      expect(r.replies.map((x) => x.slice(0, 3))).toEqual(['250', '451']);
      expect(r.data).toBe(250);
      const alias = await attempt(ing.ports.smtp, '127.0.10.1', sender, [viaAlias], 'to the alias domain');
      expect([alias.replies[0]?.slice(0, 3), alias.data]).toEqual(['250', 250]);
      expect((await mailboxState(prisma, inOff.id)).messageCount).toBe(2);
      // an exempt client (INGRESS_GREYLIST_EXEMPT_CLIENTS) is not greylisted, and leaves no row
      const exempt = await attempt(ing.ports.smtp, '127.0.11.7', sender, [inDefault.address], 'exempt');
      expect([exempt.replies[0]?.slice(0, 3), exempt.data]).toEqual(['250', 250]);
      expect(await rowsOf(prisma, '127.0.11.0/24')).toEqual([]);
    } finally {
      await ing.close();
    }
    // the operator does not greylist: only the domain that asked for it is
    const quiet = await startIngress(prisma, config({ enabled: false }));
    try {
      const r = await attempt(quiet.ports.smtp, '127.0.10.2', 'other@settings.example', [inOn.address, inDefault.address]);
      expect(r.replies.map((x) => x.slice(0, 3))).toEqual(['451', '250']);
      expect((await mailboxState(prisma, inOn.id)).messageCount).toBe(0);
      expect(await rowsOf(prisma, '127.0.10.0/24')).toHaveLength(2);
    } finally {
      await quiet.close();
    }
  });

  it('a greylisting fault lets the mail through (fail open) and is counted', async () => {
    const ing = await startIngress(prisma, config());
    const box = await f.mailbox(uniqueName('open'));
    await prisma.$executeRawUnsafe('ALTER TABLE greylist RENAME TO greylist_away');
    try {
      const r = await attempt(ing.ports.smtp, '127.0.4.9', 'someone@fault.example', [box.address], 'despite the fault');
      expect([r.replies[0]?.slice(0, 3), r.data]).toEqual(['250', 250]);
      expect((await mailboxState(prisma, box.id)).messageCount).toBe(1);
      const metrics = await ing.ingress.metrics.registry.getSingleMetricAsString('mailroom_ingress_greylist_total');
      expect(metrics).toContain('result="error"} 1');
    } finally {
      await prisma.$executeRawUnsafe('ALTER TABLE greylist_away RENAME TO greylist');
      await ing.close();
    }
  });
});

describe.skipIf(!haveDnsmasq)('greylisting and SPF (INGRESS_GREYLIST_SKIP_SPF_PASS, real DNS)', () => {
  const ZONE = 'grey.test';
  const SPF = `spf.${ZONE}`; // allows 127.0.12.0/24, as a large provider's record names its outbound networks
  const OPEN = `open.${ZONE}`; // "+all": any host passes, so the pass says nothing
  // the same, hidden from a look at the domain's own record
  const HIDDEN = [`inc.${ZONE}`, `redir.${ZONE}`, `wide.${ZONE}`, `lookup.${ZONE}`];
  const prisma = testPrisma(6);
  let dns: TestDnsServer;
  let f: Fixture;
  const clients = ['127.0.12.0/24', '127.0.13.0/24'];

  beforeAll(async () => {
    dns = await startDnsServer([ZONE], {
      txt: [
        [SPF, 'v=spf1 ip4:127.0.12.0/24 -all'],
        [`mail.${SPF}`, 'v=spf1 a -all'],
        [OPEN, 'v=spf1 +all'],
        [HIDDEN[0]!, `v=spf1 ip4:127.0.12.0/24 include:${OPEN} -all`],
        [HIDDEN[1]!, `v=spf1 redirect=${OPEN}`],
        [HIDDEN[2]!, 'v=spf1 ip4:0.0.0.0/0 -all'],
        [HIDDEN[3]!, `v=spf1 exists:any.${ZONE} -all`],
      ],
      address: [
        [`mail.${SPF}`, '127.0.12.40'],
        [`any.${ZONE}`, '192.0.2.1'],
      ],
    });
    f = await createFixture(prisma);
    await prisma.greylistEntry.deleteMany({ where: { client: { in: clients } } });
  });
  afterAll(async () => {
    await dns?.close();
    await prisma.$disconnect();
  });

  it('a sender that passes SPF is not greylisted and leaves no row; a fail, a "+all" pass or the switch off are greylisted', async () => {
    const senderAuth = {
      skip: parseTrustedProxies('none'),
      dmarcReject: true,
      dns: { servers: [dns.server], timeoutMs: 1000 },
      timeoutMs: 10_000,
      rejectUnknownSenderDomain: false,
    };
    const greylist = (skipSpfPass: boolean) => greylistConfig({ skipSpfPass });
    /** The reply to one RCPT from `from` (a message follows when it is accepted). */
    const rcpt = async (port: number, from: string, helo: string, sender: string, to: string) =>
      (await attempt(port, from, sender, [to], 'spf', helo)).replies[0];
    const box = await f.mailbox(uniqueName('spf'));
    const ing = await startIngress(prisma, { senderAuth, greylist: greylist(true) });
    try {
      // MAIL FROM's domain allows the client: accepted at once, and delivered
      expect(await rcpt(ing.ports.smtp, '127.0.12.9', 'mx.sender.example', `news@${SPF}`, box.address)).toMatch(/^250/);
      // a bounce (null sender) is checked by its HELO name (RFC 7208 §2.3)
      expect(await rcpt(ing.ports.smtp, '127.0.12.40', `mail.${SPF}`, '', box.address)).toMatch(/^250/);
      expect(await rowsOf(prisma, '127.0.12.0/24')).toEqual([]);
      // the same sender from a network its record does not name: greylisted
      expect(await rcpt(ing.ports.smtp, '127.0.13.9', 'mx.sender.example', `news@${SPF}`, box.address)).toMatch(/^451 4\.7\.1/);
      // abuse: a domain that lets any host pass ("+all") buys nothing, nor does one that hides it behind include:,
      // redirect=, a network of every address or an exists: that always matches
      expect(await rcpt(ing.ports.smtp, '127.0.13.9', 'mx.sender.example', `bulk@${OPEN}`, box.address)).toMatch(/^451 4\.7\.1/);
      for (const domain of HIDDEN)
        expect(await rcpt(ing.ports.smtp, '127.0.12.9', 'mx.sender.example', `bulk@${domain}`, box.address), domain).toMatch(
          /^451 4\.7\.1/,
        );
      const metrics = await ing.ingress.metrics.registry.getSingleMetricAsString('mailroom_ingress_greylist_total');
      expect(metrics).toContain('result="spf_pass"} 2');
      expect(metrics).toContain('result="deferred"} 6');
    } finally {
      await ing.close();
    }
    const strict = await startIngress(prisma, { senderAuth, greylist: greylist(false) });
    try {
      expect(await rcpt(strict.ports.smtp, '127.0.12.10', 'mx.sender.example', `other@${SPF}`, box.address)).toMatch(/^451 4\.7\.1/);
    } finally {
      await strict.close();
    }
  });
});
