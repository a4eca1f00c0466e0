import { describe, expect, it } from 'vitest';
import { ipNetwork } from './network.ts';

const P = { ipv4: 32, ipv6: 64 };

describe('ipNetwork', () => {
  it('counts an IPv6 /64 as one client whatever the spelling of its addresses', () => {
    const nets = ['2001:db8:1:2::1', '2001:0DB8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2:3:4:5:6', '2001:db8:1:2::10.0.0.1'].map((ip) =>
      ipNetwork(ip, P),
    );
    expect(new Set(nets)).toEqual(new Set(['2001:db8:1:2::/64']));
    expect(ipNetwork('2001:db8:1:3::1', P)).toBe('2001:db8:1:3::/64');
    expect(ipNetwork('2001:db8::1', P)).toBe('2001:db8:0:0::/64');
    expect(ipNetwork('fe80::1%eth0', P)).toBe('fe80:0:0:0::/64');
    expect(ipNetwork('::1', P)).toBe('0:0:0:0::/64');
  });

  it('honours other prefixes, masking inside a group', () => {
    expect(ipNetwork('2001:db8:1:2ff::1', { ipv4: 32, ipv6: 56 })).toBe('2001:db8:1:200::/56');
    expect(ipNetwork('2001:db8:abcd:2ff::1', { ipv4: 32, ipv6: 48 })).toBe('2001:db8:abcd::/48');
    expect(ipNetwork('2001:db8::1', { ipv4: 32, ipv6: 128 })).toBe('2001:db8:0:0:0:0:0:1/128');
    expect(ipNetwork('2001:db8::1', { ipv4: 32, ipv6: 0 })).toBe('::/0');
  });

  it('IPv4 per address by default, or per configured prefix; IPv4-mapped IPv6 counts as IPv4', () => {
    expect(ipNetwork('203.0.113.77', P)).toBe('203.0.113.77/32');
    expect(ipNetwork('::ffff:203.0.113.77', P)).toBe('203.0.113.77/32');
    expect(ipNetwork('::ffff:cb00:714d', P)).toBe('203.0.113.77/32');
    expect(ipNetwork('203.0.113.77', { ipv4: 24, ipv6: 64 })).toBe('203.0.113.0/24');
    expect(ipNetwork('203.0.113.77', { ipv4: 20, ipv6: 64 })).toBe('203.0.112.0/20');
    expect(ipNetwork('127.0.0.2', P)).not.toBe(ipNetwork('127.0.0.3', P));
  });

  it('passes anything that is not an address through unchanged', () => {
    expect(ipNetwork('unknown', P)).toBe('unknown');
    expect(ipNetwork('', P)).toBe('');
  });
});
