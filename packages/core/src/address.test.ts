import { describe, expect, it } from 'vitest';
import { normalizeDomain, normalizeLocalPart, parseAddress } from './address.ts';

describe('normalizeDomain', () => {
  it.each([
    ['Example.COM', 'example.com'],
    ['mail.example.co.uk', 'mail.example.co.uk'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['EXAMPLE.xn--p1ai', 'example.xn--p1ai'],
    ['пример.рф', 'xn--e1afmkfd.xn--p1ai'],
  ])('%s → %s', (input, out) => expect(normalizeDomain(input)).toBe(out));

  it.each(['', 'localhost', 'example.com.', '.example.com', '192.168.1.1', '[127.0.0.1]', 'exa mple.com', '-bad.com', 'bad-.com', 'a..b.com', `${'a'.repeat(64)}.com`, `${'a.'.repeat(130)}com`, 'user@example.com', 'example.123', 'exa_mple.com'])(
    'rejects %j',
    (input) => expect(normalizeDomain(input)).toBeUndefined(),
  );
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
    expect(parseAddress('Info@Bücher.Example')).toEqual({ localPart: 'info', domain: 'xn--bcher-kva.example', address: 'info@xn--bcher-kva.example' });
  });
  it.each(['noat', '@example.com', 'user@', 'a@b@c.com', 'user@localhost'])('rejects %j', (input) => expect(parseAddress(input)).toBeUndefined());
});
