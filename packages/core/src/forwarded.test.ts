import { describe, expect, test } from 'vitest';
import { isForwardingHeader, normalizeIp, parseTrustedProxies, replaceForwardingHeaders, resolveClient } from './forwarded.ts';

describe('parseTrustedProxies', () => {
  test('addresses, CIDR ranges and names; IPv4-mapped IPv6 peers match their IPv4 range', () => {
    const t = parseTrustedProxies('loopback, 172.30.0.10, 10.1.0.0/16, 2001:db8::/32');
    for (const ip of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1', '172.30.0.10', '10.1.200.3', '2001:db8::7', '[::1]'])
      expect(t.has(ip), ip).toBe(true);
    for (const ip of ['172.30.0.11', '10.2.0.1', '2001:db9::1', '8.8.8.8', 'foo', '', undefined]) expect(t.has(ip), String(ip)).toBe(false);
    expect(t.none).toBe(false);
  });

  test('"none" and an empty value trust nothing', () => {
    for (const spec of ['none', '', ' , ']) {
      const t = parseTrustedProxies(spec);
      expect(t.none).toBe(true);
      expect(t.has('127.0.0.1')).toBe(false);
    }
  });

  test('refuses what is not an address or range, naming the variable (no "trust everyone")', () => {
    for (const bad of ['true', '*', '10.0.0.0/33', '::1/129', 'example.com', '10.0.0.1/8/2', '1.2.3.4/x']) {
      expect(() => parseTrustedProxies(bad, 'API_TRUSTED_PROXIES'), bad).toThrow(/API_TRUSTED_PROXIES/);
    }
  });
});

describe('resolveClient', () => {
  const loopback = parseTrustedProxies('loopback');

  test('an untrusted peer is the client, whatever it forwards', () => {
    const r = resolveClient('203.0.113.9', { 'x-forwarded-for': '10.66.66.66', 'x-forwarded-proto': 'https' }, loopback);
    expect(r).toEqual({ ip: '203.0.113.9', proto: 'http', viaTrustedProxy: false });
  });

  test('a trusted peer: the rightmost untrusted hop is the client; its scheme is read', () => {
    expect(
      resolveClient('127.0.0.1', { 'x-forwarded-for': '10.66.66.66, 198.51.100.4', 'x-forwarded-proto': 'http, https' }, loopback),
    ).toEqual({
      ip: '198.51.100.4',
      proto: 'https',
      viaTrustedProxy: true,
    });
    // trusted hops are skipped; several header lines count as one list
    expect(resolveClient('::ffff:127.0.0.1', { 'x-forwarded-for': ['198.51.100.4', '127.0.0.2'] }, loopback).ip).toBe('198.51.100.4');
    // no header: the proxy itself
    expect(resolveClient('127.0.0.1', {}, loopback)).toEqual({ ip: '127.0.0.1', proto: 'http', viaTrustedProxy: true });
  });

  test('garbage never becomes the address: the walk stops at the last trusted hop', () => {
    for (const xff of ['foo', '1.2.3.4, foo', '', ' , ', '999.1.1.1', '1.2.3.4 5.6.7.8', 'unknown', '<script>']) {
      const r = resolveClient('127.0.0.1', { 'x-forwarded-for': xff, 'x-forwarded-proto': 'javascript' }, loopback);
      expect(r.ip, xff).toBe('127.0.0.1');
      expect(r.proto).toBe('http');
    }
    expect(resolveClient('127.0.0.1', { 'x-forwarded-for': 'foo, 1.2.3.4' }, loopback).ip).toBe('1.2.3.4');
    expect(resolveClient(undefined, {}, loopback).ip).toBe('0.0.0.0');
  });

  test('the connection scheme counts when nothing trusted says otherwise', () => {
    expect(resolveClient('203.0.113.9', { 'x-forwarded-proto': 'http' }, loopback, true).proto).toBe('https');
  });
});

test('normalizeIp and isForwardingHeader', () => {
  expect(normalizeIp('::FFFF:10.0.0.1')).toBe('10.0.0.1');
  expect(normalizeIp('[2001:DB8::1]')).toBe('2001:db8::1');
  expect(normalizeIp('1.2.3.4, 5.6.7.8')).toBeUndefined();
  for (const h of ['X-Forwarded-For', 'x-forwarded-proto', 'x-forwarded-host', 'Forwarded', 'X-Real-IP'])
    expect(isForwardingHeader(h), h).toBe(true);
  for (const h of ['cookie', 'x-csrf-token', 'user-agent']) expect(isForwardingHeader(h), h).toBe(false);
});

test('replaceForwardingHeaders leaves exactly one X-Forwarded-For/-Proto pair: the conclusion', () => {
  const req = {
    socket: { remoteAddress: '203.0.113.9' },
    headers: {
      cookie: 'a=b',
      'x-forwarded-for': '10.66.66.66',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
      forwarded: 'for=10.66.66.66',
      'x-real-ip': '10.66.66.66',
    } as Record<string, string | undefined>,
  };
  expect(replaceForwardingHeaders(req, parseTrustedProxies('loopback')).ip).toBe('203.0.113.9');
  expect(req.headers).toEqual({ cookie: 'a=b', 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'http' });
});
