import { describe, expect, it } from 'vitest';
import { networkKey } from './network.ts';

describe('networkKey', () => {
  it('keys IPv4 by the given prefix (default: the address itself)', () => {
    expect(networkKey('203.0.113.77')).toBe('203.0.113.77/32');
    expect(networkKey('203.0.113.77', { ipv4Prefix: 24 })).toBe('203.0.113.0/24');
    expect(networkKey('203.0.113.77', { ipv4Prefix: 20 })).toBe('203.0.112.0/20');
    expect(networkKey('203.0.113.77', { ipv4Prefix: 0 })).toBe('0.0.0.0/0');
  });

  it('treats IPv4-mapped IPv6 as the IPv4 address, in every spelling', () => {
    for (const ip of ['::ffff:203.0.113.9', '::FFFF:203.0.113.9', '0:0:0:0:0:ffff:cb00:7109', '::ffff:cb00:7109']) {
      expect(networkKey(ip, { ipv4Prefix: 24 }), ip).toBe('203.0.113.0/24');
    }
  });

  it('keys IPv6 by /64 by default, whatever the spelling', () => {
    const spellings = ['2001:db8:1:2:3:4:5:6', '2001:0db8:0001:0002:0003:0004:0005:0006', '2001:DB8:1:2:3:4:5:6', '2001:db8:1:2:ffff::1'];
    for (const ip of spellings) expect(networkKey(ip), ip).toBe('2001:db8:1:2::/64');
    expect(networkKey('2001:db8::1')).toBe('2001:db8::/64');
    expect(networkKey('::1')).toBe('::/64');
    expect(networkKey('::1', { ipv6Prefix: 128 })).toBe('::1/128');
  });

  it('ignores zone ids', () => {
    expect(networkKey('fe80::1%eth0')).toBe('fe80::/64');
    expect(networkKey('fe80::1%eth0', { ipv6Prefix: 128 })).toBe(networkKey('fe80::1', { ipv6Prefix: 128 }));
  });

  it('applies prefixes that do not fall on a group boundary', () => {
    expect(networkKey('2001:db8:abcd:12ff::1', { ipv6Prefix: 56 })).toBe('2001:db8:abcd:1200::/56');
    expect(networkKey('2001:db8:abcd:12ff::1', { ipv6Prefix: 48 })).toBe('2001:db8:abcd::/48');
    expect(networkKey('2001:db8:abcd:12ff::1', { ipv6Prefix: 200 })).toBe('2001:db8:abcd:12ff::1/128');
  });

  it('keeps two different /64s apart and leaves non-addresses as they are', () => {
    expect(networkKey('2001:db8:0:1::1')).not.toBe(networkKey('2001:db8:0:2::1'));
    expect(networkKey('unknown')).toBe('unknown');
  });
});
