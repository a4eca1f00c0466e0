import { describe, expect, it } from 'vitest';
import { mtaStsDomainFromHost, mtaStsPolicyId, mtaStsPolicyText, mtaStsRecordNames, mtaStsRecordValue } from './mta-sts.ts';

describe('mtaStsPolicyText', () => {
  it('writes RFC 8461 §3.2 fields, version first, CRLF lines, the MX host once and lowercase', () => {
    expect(mtaStsPolicyText('enforce', ['MX.Example.NET.', 'mx.example.net'], 604800)).toBe(
      'version: STSv1\r\nmode: enforce\r\nmx: mx.example.net\r\nmax_age: 604800\r\n',
    );
  });
});

describe('mtaStsPolicyId', () => {
  it('is 1-32 letters and digits and changes with any change of the policy', () => {
    const ids = new Set(
      (['testing', 'enforce', 'none'] as const).flatMap((mode) =>
        ['mx.a.example', 'mx.b.example'].flatMap((mx) => [86400, 604800].map((age) => mtaStsPolicyId(mtaStsPolicyText(mode, [mx], age)))),
      ),
    );
    expect(ids.size).toBe(12);
    for (const id of ids) expect(id).toMatch(/^[a-zA-Z0-9]{1,32}$/);
    const text = mtaStsPolicyText('testing', ['mx.a.example'], 86400);
    expect(mtaStsPolicyId(text)).toBe(mtaStsPolicyId(text));
    expect(mtaStsRecordValue(text)).toBe(`v=STSv1; id=${mtaStsPolicyId(text)}`);
  });
});

describe('mtaStsRecordNames', () => {
  it('reads the id as senders do: v=STSv1 first, spaces around fields, unknown fields ignored', () => {
    expect(mtaStsRecordNames('v=STSv1; id=abc123', 'abc123')).toBe(true);
    expect(mtaStsRecordNames('v=STSv1;id=abc123;', 'abc123')).toBe(true);
    expect(mtaStsRecordNames('v=STSv1; ext=1; id=abc123', 'abc123')).toBe(true);
    expect(mtaStsRecordNames('v=STSv1; id=abc1234', 'abc123')).toBe(false);
    expect(mtaStsRecordNames('id=abc123; v=STSv1', 'abc123')).toBe(false);
    expect(mtaStsRecordNames('v=STSv2; id=abc123', 'abc123')).toBe(false);
  });
});

describe('mtaStsDomainFromHost', () => {
  it('takes mta-sts.<domain> in any case, with a port or a trailing dot, IDNs to punycode', () => {
    expect(mtaStsDomainFromHost('mta-sts.example.com')).toBe('example.com');
    expect(mtaStsDomainFromHost('MTA-STS.Example.COM:443')).toBe('example.com');
    expect(mtaStsDomainFromHost('mta-sts.example.com.')).toBe('example.com');
    expect(mtaStsDomainFromHost('mta-sts.bücher.example')).toBe('xn--bcher-kva.example');
  });

  it('refuses every other host: other names, a bare TLD, IP literals, junk, overlong input', () => {
    for (const host of [
      undefined,
      '',
      'example.com',
      'autoconfig.example.com',
      'xmta-sts.example.com',
      'mta-sts.com',
      'mta-sts.',
      '[::1]:443',
      '127.0.0.1',
      'mta-sts.127.0.0.1',
      'mta-sts.example.com/evil',
      'mta-sts.exa mple.com',
      'mta-sts.example.com:99999',
      `mta-sts.${'a'.repeat(300)}.com`,
    ]) {
      expect(mtaStsDomainFromHost(host), String(host)).toBeNull();
    }
  });
});
