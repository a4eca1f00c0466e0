import { describe, expect, it } from 'vitest';
import { normalizeSenderPattern, senderPatternProblem, senderRuleCandidates } from './sender-rules.ts';

describe('normalizeSenderPattern', () => {
  it.each([
    ['Spam@Example.COM', 'spam@example.com'],
    ['  news@mail.example.com ', 'news@mail.example.com'],
    ['Example.COM', 'example.com'],
    ['@example.com', 'example.com'],
    ['*@Example.com', 'example.com'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['info@bücher.example', 'info@xn--bcher-kva.example'],
    ['.XYZ', '.xyz'],
    ['*.top', '.top'],
    ['.рф', '.xn--p1ai'],
  ])('%j → %s', (input, out) => expect(normalizeSenderPattern(input)).toBe(out));

  it.each([
    ...['', '@', '*.example.com', '*@*.example.com', 'com', 'example.com.', 'a b@example.com', 'user@', '<>', 'user@[127.0.0.1]'],
    ...['.', '*.', '.123', '..com', '.co m', '.-x', '@.com', '*@.com', `.${'a'.repeat(64)}`],
  ])('refuses %j', (input) => expect(normalizeSenderPattern(input)).toBeUndefined());

  it('explains a wildcard', () => {
    expect(senderPatternProblem('*.example.com')).toMatch(/covers its subdomains/);
    expect(senderPatternProblem('nonsense')).toMatch(/address .*, a domain .* or a top-level domain \(\.xyz\)/);
  });
});

describe('senderRuleCandidates', () => {
  it('lists the address, then its domain and every parent of two labels or more', () => {
    expect(senderRuleCandidates('Bob@Mail.Example.CO.uk')).toEqual([
      'bob@mail.example.co.uk',
      'mail.example.co.uk',
      'example.co.uk',
      'co.uk',
      '.uk',
    ]);
  });

  it('reads a quoted local part as its content and an IDN domain as punycode', () => {
    expect(senderRuleCandidates('"spam"@bücher.example')).toEqual(['spam@xn--bcher-kva.example', 'xn--bcher-kva.example', '.example']);
  });

  it('keeps the domain when the local part cannot name an address', () => {
    expect(senderRuleCandidates('"a b"@example.com')).toEqual(['example.com', '.com']);
  });

  it.each(['', 'postmaster', '@example.com', 'user@localhost', 'user@[192.0.2.1]', 'user@example.com.'])('matches nothing for %j', (s) =>
    expect(senderRuleCandidates(s)).toEqual([]),
  );

  it('every stored pattern is among the candidates of a sender it names', () => {
    for (const [pattern, sender] of [
      ['Spam@Example.com', 'SPAM@example.COM'],
      ['example.com', 'anyone@deep.sub.example.com'],
      ['@bücher.example', 'x@BÜCHER.example'],
      ['*.TOP', 'promo@deals.shop.top'],
      ['.рф', 'x@пример.рф'],
    ] as const)
      expect(senderRuleCandidates(sender)).toContain(normalizeSenderPattern(pattern));
  });
});
