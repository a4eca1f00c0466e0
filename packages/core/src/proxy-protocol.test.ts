import { describe, expect, test } from 'vitest';
import { parseProxyHeader, ProxyHeaderError, trustedSourcesEnvSchema } from './proxy-protocol.ts';

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

describe('parseProxyHeader', () => {
  test('v1 and v2 headers name the client in one canonical spelling; octets after the header are not consumed', () => {
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 5555 110\r\nCAPA\r\n'))).toEqual({
      header: { version: 1, command: 'PROXY', sourceAddress: '203.0.113.7', sourcePort: 5555 },
      octets: 42,
    });
    expect(parseProxyHeader(Buffer.from('PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 1 2\r\n'))?.header).toMatchObject({
      sourceAddress: '2001:db8::1',
    });
    expect(parseProxyHeader(Buffer.from('PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n'))?.header).toMatchObject({ sourceAddress: '192.0.2.1' });
    expect(parseProxyHeader(Buffer.from('PROXY UNKNOWN ffff:: ::1 1 2\r\n'))?.header).toEqual({ version: 1, command: 'LOCAL' });
    const v6 = Buffer.concat([
      SIG,
      Buffer.from([0x21, 0x21, 0, 36]),
      Buffer.from('00000000000000000000ffffc0000201', 'hex'),
      Buffer.alloc(16),
      Buffer.from([0x12, 0x34, 0, 110]),
    ]);
    expect(parseProxyHeader(v6)).toEqual({
      header: { version: 2, command: 'PROXY', sourceAddress: '192.0.2.1', sourcePort: 0x1234 },
      octets: 52,
    });
    expect(parseProxyHeader(Buffer.concat([SIG, Buffer.from([0x20, 0x00, 0, 0])]))).toEqual({
      header: { version: 2, command: 'LOCAL' },
      octets: 16,
    });
  });

  test('incomplete headers ask for more; garbage fails at its first wrong octet', () => {
    for (const partial of ['P', 'PROXY TCP4 1.2.3.4', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r'])
      expect(parseProxyHeader(Buffer.from(partial))).toBeUndefined();
    expect(parseProxyHeader(SIG.subarray(0, 7))).toBeUndefined();
    expect(parseProxyHeader(Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0, 12]), Buffer.alloc(6)]))).toBeUndefined();
    for (const bad of ['PROXX', 'Q', '\r\n\r\nX', 'PROXY TCP4 a b c d\r\n', 'PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n']) {
      expect(() => parseProxyHeader(Buffer.from(bad)), bad).toThrow(ProxyHeaderError);
    }
    expect(() => parseProxyHeader(Buffer.concat([SIG, Buffer.from([0x21, 0x31, 0, 216]), Buffer.alloc(216)]))).toThrow(/unsupported/);
    expect(() => parseProxyHeader(Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0x04, 0])]))).toThrow(/too long/);
  });

  test('trusted sources: addresses and CIDR ranges; empty is off; nonsense fails', () => {
    const t = trustedSourcesEnvSchema.parse('10.0.0.0/8, 2001:db8::/32');
    expect([t.has('10.9.9.9'), t.has('::ffff:10.1.1.1'), t.has('2001:db8::5'), t.has('11.0.0.1')]).toEqual([true, true, true, false]);
    expect(trustedSourcesEnvSchema.parse(undefined).none).toBe(true);
    expect(trustedSourcesEnvSchema.parse('').none).toBe(true);
    expect(() => trustedSourcesEnvSchema.parse('10.0.0.0/33')).toThrow();
    expect(() => trustedSourcesEnvSchema.parse('*')).toThrow();
  });
});
