import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDnsServers } from '@mailroom/runtime';
import { findFreePort } from '@mailroom/db/testing';
import { AppError } from '../errors.ts';
import { haveDnsmasq, startDnsServer, type TestDnsServer } from '../testing/dns-server.ts';
import { createDnsLookup } from './dns.ts';

describe('parseDnsServers (MAILROOM_DNS_SERVERS)', () => {
  it('takes host[:port] lists with IPv4 and IPv6 and refuses names and bad ports', () => {
    expect(parseDnsServers('')).toEqual({ servers: [] });
    expect(parseDnsServers(' 127.0.0.1:5353, 9.9.9.9 ,[::1]:53,2001:db8::1')).toEqual({
      servers: ['127.0.0.1:5353', '9.9.9.9', '[::1]:53', '2001:db8::1'],
    });
    expect(parseDnsServers('dns.example:53')).toHaveProperty('error');
    expect(parseDnsServers('127.0.0.1:0')).toHaveProperty('error');
    expect(parseDnsServers('127.0.0.1:99999')).toHaveProperty('error');
  });
});

describe.skipIf(!haveDnsmasq)('createDnsLookup against a real DNS server (dnsmasq)', () => {
  let dns: TestDnsServer;
  beforeAll(async () => {
    dns = await startDnsServer(['lookup.test'], {
      txt: [
        ['_mailroom.a.lookup.test', 'mailroom-verify=abc'],
        ['long.lookup.test', 'x'.repeat(300)],
      ],
      mx: [['a.lookup.test', 'mx.example.net', 10]],
      cname: [['autoconfig.a.lookup.test', 'panel.example.net']],
      srv: [['_pop3s._tcp.a.lookup.test', 'mail.example.net', 995, 0, 1]],
    });
  });
  afterAll(() => dns?.close());

  it('resolves TXT (long values joined), MX, CNAME and SRV; absent names and types give empty lists', async () => {
    const lookup = createDnsLookup({ servers: [dns.server], timeoutMs: 2_000 });
    expect(await lookup.txt('_mailroom.a.lookup.test')).toEqual(['mailroom-verify=abc']);
    expect(await lookup.txt('long.lookup.test')).toEqual(['x'.repeat(300)]);
    expect(await lookup.mx('a.lookup.test')).toEqual([{ exchange: 'mx.example.net', priority: 10 }]);
    expect(await lookup.cname('autoconfig.a.lookup.test')).toEqual(['panel.example.net']);
    expect(await lookup.srv('_pop3s._tcp.a.lookup.test')).toEqual([{ name: 'mail.example.net', port: 995, priority: 0, weight: 1 }]);
    expect(await lookup.txt('nothing.lookup.test')).toEqual([]);
    expect(await lookup.mx('_mailroom.a.lookup.test')).toEqual([]);
  });

  it('a refusing server and a dead resolver give DNS_UNAVAILABLE, not an empty answer', async () => {
    const lookup = createDnsLookup({ servers: [dns.server], timeoutMs: 2_000 });
    // dnsmasq is authoritative only for lookup.test: other names are REFUSED, a resolver failure.
    await expect(lookup.txt('example.org')).rejects.toMatchObject({ code: 'DNS_UNAVAILABLE' });
    const dead = createDnsLookup({ servers: [`127.0.0.1:${await findFreePort()}`], timeoutMs: 300 });
    const err = await dead.txt('_mailroom.a.lookup.test').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'DNS_UNAVAILABLE', message: expect.stringContaining('_mailroom.a.lookup.test') });
  });
});
