// DNS blocklists on the SMTP listener (INGRESS_DNSBL) against a real DNS server (Debian's dnsmasq on loopback serving
// the test zones' RFC 5782 entries); clients connect from different loopback addresses (127.0.0.x) over real sockets.
import dgram from 'node:dgram';
import net from 'node:net';
import { parseTrustedProxies } from '@mailroom/core';
import { haveDnsmasq, startDnsServer, type TestDnsServer } from '@mailroom/core/testing';
import { findFreePort, uniqueName } from '@mailroom/db/testing';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { ingressConfigFromEnv, loadIngressEnv } from './config.ts';
import { DNSBL_CACHE_MS, Dnsbl, dnsblQueryName } from './dnsbl.ts';
import { createFixture, mailboxState, testPrisma, type Fixture } from './testing/fixtures.ts';
import { eventually, startIngress } from './testing/harness.ts';
import { WireClient } from './testing/wire-client.ts';

describe('dnsblQueryName (RFC 5782 §2.1, §2.4)', () => {
  test('IPv4 octets and IPv6 nibbles reversed; IPv4-mapped and embedded IPv4 spelled as their groups', () => {
    expect(dnsblQueryName('192.0.2.99', 'bl.example')).toBe('99.2.0.192.bl.example');
    expect(dnsblQueryName('::ffff:192.0.2.99', 'bl.example')).toBe('99.2.0.192.bl.example');
    expect(dnsblQueryName('2001:DB8:1:2:3:4:567:89ab', 'bl.example')).toBe(
      'b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example',
    );
    expect(dnsblQueryName('2001:db8::1', 'bl.example')).toBe(`1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.bl.example`);
    expect(dnsblQueryName('64:ff9b::192.0.2.99', 'bl.example')).toBe(`3.6.2.0.0.0.0.c${'.0'.repeat(16)}.b.9.f.f.4.6.0.0.bl.example`);
    expect(dnsblQueryName('not-an-ip', 'bl.example')).toBeNull();
  });
});

describe('INGRESS_DNSBL', () => {
  test('zones are listed comma-separated, case and root dot dropped; off when empty; nonsense stops the start', () => {
    const env = loadIngressEnv({ INGRESS_DNSBL: ' Zen.Spamhaus.org , b.barracudacentral.org. ' });
    const c = ingressConfigFromEnv(env, 'h');
    expect(c.dnsbl?.zones).toEqual(['zen.spamhaus.org', 'b.barracudacentral.org']);
    expect(c.dnsbl?.skip.has('127.0.0.1')).toBe(true);
    expect(ingressConfigFromEnv(loadIngressEnv({}), 'h').dnsbl).toBeUndefined();
    expect(() => loadIngressEnv({ INGRESS_DNSBL: 'zen spamhaus' })).toThrow(/INGRESS_DNSBL/);
  });
});

describe.skipIf(!haveDnsmasq)('DNS blocklists on the SMTP listener (real DNS, real sockets)', () => {
  const prisma = testPrisma(4);
  let dns: TestDnsServer;
  let f: Fixture;
  const zones = { address: [] as [string, string][] };
  // 127.0.0.5 is listed in the second zone; 127.0.0.7 gets the "query refused" code Spamhaus gives public resolvers
  zones.address.push(['5.0.0.127.second.bl.test', '127.0.0.2'], ['7.0.0.127.first.bl.test', '127.255.255.254']);
  const listsFor = (server: string, zoneNames = ['first.bl.test', 'second.bl.test'], skip = 'none', timeoutMs = 1000) => ({
    dnsbl: { zones: zoneNames, skip: parseTrustedProxies(skip), dns: { servers: [server], timeoutMs } },
  });

  beforeAll(async () => {
    dns = await startDnsServer(['bl.test'], zones);
    f = await createFixture(prisma);
  });
  afterAll(async () => {
    await dns?.close();
    await prisma.$disconnect();
  });

  it('a listed client gets 554 5.7.1 naming the zone instead of the banner and is disconnected; others deliver as before', async () => {
    const ing = await startIngress(prisma, listsFor(dns.server));
    try {
      const listed = await WireClient.connect(ing.ports.smtp, '127.0.0.1', '127.0.0.5');
      expect(listed.greeting).toMatchObject({
        code: 554,
        text: '5.7.1 Service unavailable; client [127.0.0.5] blocked using second.bl.test',
      });
      await listed.closed();

      const box = await f.mailbox(uniqueName('rcpt'));
      // not listed, and listed only with a "refused" code (not a listing: fail open)
      for (const from of ['127.0.0.6', '127.0.0.7']) {
        const c = await WireClient.connect(ing.ports.smtp, '127.0.0.1', from);
        expect(c.greeting.code).toBe(220);
        expect((await c.command('EHLO client.example')).code).toBe(250);
        expect((await c.command('MAIL FROM:<a@sender.example>')).code).toBe(250);
        expect((await c.command(`RCPT TO:<${box.address}>`)).code).toBe(250);
        expect((await c.command('DATA')).code).toBe(354);
        c.sendData(Buffer.from(`Subject: from ${from}\r\n\r\nhi\r\n`));
        expect((await c.read()).code).toBe(250);
        await c.quit();
      }
      expect((await mailboxState(prisma, box.id)).messages).toHaveLength(2);
      const metrics = await (await fetch(`http://127.0.0.1:${ing.ports.metrics}/metrics`)).text();
      expect(metrics).toMatch(/mailroom_ingress_connections_refused_total\{protocol="smtp",reason="dnsbl"\} 1\b/);
      // LMTP (the operator's MTA) is never looked up, whatever its address
      const lmtp = await WireClient.connect(ing.ports.lmtp, '127.0.0.1', '127.0.0.5');
      expect(lmtp.greeting.code).toBe(220);
      await lmtp.quit();
    } finally {
      await ing.close();
    }
  });

  it('INGRESS_UNCHECKED_CLIENTS are not looked up; a blocklist that does not answer blocks nobody', async () => {
    const skipped = await startIngress(prisma, listsFor(dns.server, undefined, '127.0.0.0/29'));
    try {
      const c = await WireClient.connect(skipped.ports.smtp, '127.0.0.1', '127.0.0.5');
      expect(c.greeting.code).toBe(220);
      await c.quit();
    } finally {
      await skipped.close();
    }
    const dead = await startIngress(prisma, listsFor(`127.0.0.1:${await findFreePort()}`));
    try {
      const c = await WireClient.connect(dead.ports.smtp, '127.0.0.1', '127.0.0.5');
      expect(c.greeting.code).toBe(220);
      await c.quit();
    } finally {
      await dead.close();
    }
  });

  it('a client that hangs up while it is looked up leaves nothing behind: its per-address slot is free again', async () => {
    // a name server that takes every query and answers none: each lookup waits out the DNS timeout
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    const ing = await startIngress(prisma, {
      ...listsFor(`127.0.0.1:${silent.address().port}`, undefined, 'none', 1500),
      maxConnectionsPerIp: 1,
    });
    try {
      // connect, and hang up while the lookup holds the greeting back
      const sock = net.connect({ port: ing.ports.smtp, host: '127.0.0.1', localAddress: '127.0.0.9' });
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
      });
      // smtp-server holds every new connection ~100 ms (early talkers) before onConnect starts the lookup; the
      // lookup then waits 1.5 s for the silent server: hang up in between
      await new Promise((r) => setTimeout(r, 300));
      sock.destroy();
      // once the lookup has timed out, the slot (maxConnectionsPerIp 1) is free again: the next connection is looked up
      // (no answer: fail open) and served; a leaked slot would answer 421 4.7.0 every time
      let next: WireClient | undefined;
      await eventually(async () => {
        const c = await WireClient.connect(ing.ports.smtp, '127.0.0.1', '127.0.0.9');
        if (c.greeting.code === 220) next = c;
        else c.destroy();
        return c.greeting.code === 220;
      });
      expect(ing.ingress.sessionCount()).toBe(1);
      await next?.quit();
    } finally {
      await ing.close();
      silent.close();
    }
  });

  it('results are reused for an address for a while, then looked up again', async () => {
    const list = new Dnsbl({
      zones: ['second.bl.test'],
      skip: parseTrustedProxies('none'),
      dns: { servers: [dns.server], timeoutMs: 500 },
    });
    const t0 = Date.now();
    expect(await list.lookup('127.0.0.5', t0)).toEqual({ zone: 'second.bl.test', answer: '127.0.0.2' });
    // the zone's server is replaced by one without the entry: within the cache time the listing stands
    await dns.setRecords({});
    try {
      expect(await list.lookup('127.0.0.5', t0 + DNSBL_CACHE_MS - 1)).toEqual({ zone: 'second.bl.test', answer: '127.0.0.2' });
      expect(await list.lookup('127.0.0.5', t0 + DNSBL_CACHE_MS)).toBeNull();
    } finally {
      await dns.setRecords(zones);
    }
  });
});
