import { describe, expect, it } from 'vitest';
import { canonicalLogin, normalizeDomain, normalizeLocalPart, parseAddress } from './address.ts';

describe('normalizeDomain', () => {
  it.each([
    ['Example.COM', 'example.com'],
    ['mail.example.co.uk', 'mail.example.co.uk'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['EXAMPLE.xn--p1ai', 'example.xn--p1ai'],
    ['пример.рф', 'xn--e1afmkfd.xn--p1ai'],
  ])('%s → %s', (input, out) => expect(normalizeDomain(input)).toBe(out));

  it.each([
    '',
    'localhost',
    'example.com.',
    '.example.com',
    '192.168.1.1',
    '[127.0.0.1]',
    'exa mple.com',
    '-bad.com',
    'bad-.com',
    'a..b.com',
    `${'a'.repeat(64)}.com`,
    `${'a.'.repeat(130)}com`,
    'user@example.com',
    'example.123',
    'exa_mple.com',
  ])('rejects %j', (input) => expect(normalizeDomain(input)).toBeUndefined());
});

describe('normalizeLocalPart', () => {
  it('accepts RFC 5321 dot-atoms case-insensitively', () => {
    expect(normalizeLocalPart('John.Doe')).toBe('john.doe');
    expect(normalizeLocalPart("o'brien+tag")).toBe("o'brien+tag");
    expect(normalizeLocalPart('a'.repeat(64))).toBe('a'.repeat(64));
  });
  it.each(['', '.lead', 'trail.', 'dou..ble', 'sp ace', 'quo"te', 'a'.repeat(65), 'at@sign', 'ünï'])('rejects %j', (input) =>
    expect(normalizeLocalPart(input)).toBeUndefined(),
  );
});

describe('parseAddress', () => {
  it('splits on the last @ and normalises both halves', () => {
    expect(parseAddress('Info@Bücher.Example')).toEqual({
      localPart: 'info',
      domain: 'xn--bcher-kva.example',
      address: 'info@xn--bcher-kva.example',
    });
  });
  it.each(['noat', '@example.com', 'user@', 'a@b@c.com', 'user@localhost'])('rejects %j', (input) =>
    expect(parseAddress(input)).toBeUndefined(),
  );
});

describe('canonicalLogin (throttle key and accepted spellings of a login)', () => {
  it.each(['alice@d.example', 'ALICE@D.Example', 'Alice@D.EXAMPLE'])('%j is exact and names alice@d.example', (input) =>
    expect(canonicalLogin(input)).toEqual({ account: 'alice@d.example', exact: true }),
  );

  it('accepts an IDN domain in its Unicode or punycode form, any case', () => {
    for (const input of ['x@bücher.example', 'X@BÜCHER.example', 'x@xn--bcher-kva.example']) {
      expect(canonicalLogin(input)).toEqual({ account: 'x@xn--bcher-kva.example', exact: true });
    }
  });

  // Each spelling resolves to the same account (so it is throttled there) but is not one authentication accepts.
  it.each([
    ['alice @d.example', 'whitespace before @'],
    [' alice@d.example', 'leading blank'],
    ['alice@d.example\t', 'trailing tab'],
    ['alice@\u00ADd.example', 'soft hyphen'],
    ['alice@d.ex\u00ADample', 'soft hyphen in the TLD'],
    ['alice@d.exa\u200Bmple', 'zero-width space'],
    ['alice@ｄ.example', 'fullwidth letter'],
    ['alice@d。example', 'ideographic full stop'],
    ['x@bu\u0308cher.example', 'decomposed umlaut'],
    ['alice@d.exa\u200Dmple', 'zero-width joiner (IDNA refuses it)'],
    ['alice@ｄ.ｅｘａｍｐｌｅ', 'fullwidth letters'],
    ['alice@d．example', 'fullwidth full stop'],
    ['ａｌｉｃｅ@d.example', 'fullwidth local part'],
    ['alice＠d.example', 'fullwidth commercial at'],
  ])('%j (%s) is not exact', (input) => {
    const c = canonicalLogin(input);
    expect(c?.exact).toBe(false);
    expect(c?.account).toMatch(/^(alice@d\.example|x@xn--bcher-kva\.example)$/);
  });

  it('plain ASCII names that are no dot-atom keep their lowercase form (operator emails)', () => {
    expect(canonicalLogin('A..B@Example.com')).toEqual({ account: 'a..b@example.com', exact: true });
  });

  it.each(['', 'alice', 'alice@', '@d.example', 'alice@localhost', 'alice@d', 'al ice@@x', 'a"b c"@d.example'])(
    '%j names no account',
    (input) => expect(canonicalLogin(input)).toBeUndefined(),
  );
});
