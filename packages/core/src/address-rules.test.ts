// One table of odd spellings through all three layers that apply the address rules: the server's normalisation
// (parseAddress), the API's zod schema (emailSchema) and the panel's live check (looksLikeAddress, what
// apps/web/lib/validation.ts re-exports).
import { describe, expect, it } from 'vitest';
import { localPartProblem, looksLikeAddress } from './address-rules.ts';
import { parseAddress } from './address.ts';
import { emailSchema, localPartSchema } from './schemas/common.ts';

const LONG_LABEL = 'a'.repeat(64);

// [input, stored address (undefined: the server refuses it), first checks accept it]
const SPELLINGS: [string, string | undefined, boolean][] = [
  ['Alice@Example.COM', 'alice@example.com', true],
  ['ALICE.SMITH+Tag@EXAMPLE.ORG', 'alice.smith+tag@example.org', true],
  ['info@Bücher.example', 'info@xn--bcher-kva.example', true],
  ['X@BÜCHER.EXAMPLE', 'x@xn--bcher-kva.example', true],
  ['x@xn--bcher-kva.example', 'x@xn--bcher-kva.example', true],
  ['x@пример.рф', 'x@xn--e1afmkfd.xn--p1ai', true],
  [`${'a'.repeat(64)}@example.com`, `${'a'.repeat(64)}@example.com`, true],
  ['alice@example.com.', undefined, false],
  ['alice.@example.com', undefined, false],
  ['.alice@example.com', undefined, false],
  ['al..ice@example.com', undefined, false],
  ['"quoted"@example.com', undefined, false],
  ['"a b"@example.com', undefined, false],
  ['"a@b"@example.com', undefined, false],
  ['ünï@example.com', undefined, false],
  [`${'a'.repeat(65)}@example.com`, undefined, false],
  [`x@${LONG_LABEL}.com`, undefined, false],
  [`x@${'a.'.repeat(127)}com`, undefined, false],
  ['user@localhost', undefined, false],
  ['user@[127.0.0.1]', undefined, false],
  ['user@192.168.1.1', undefined, false],
  ['user@exa_mple.com', undefined, false],
  // IDNA maps a soft hyphen away, so the server stores the plain domain; the first checks refuse the invisible character
  ['user@exa\u00ADmple.com', 'user@example.com', false],
  ['@example.com', undefined, false],
  ['user@', undefined, false],
  // typed Unicode that fits 63 characters but not 63 octets of punycode: only the server can tell
  [`x@${'ü'.repeat(60)}.com`, undefined, true],
];

describe('address rules: odd spellings through server, schema and panel', () => {
  it.each(SPELLINGS)('%j → %j (first checks: %j)', (input, stored, firstCheck) => {
    expect(parseAddress(input)?.address).toBe(stored);
    expect(emailSchema.safeParse(input).success).toBe(firstCheck);
    expect(looksLikeAddress(input)).toBe(firstCheck);
  });

  it.each([
    ['', 'Enter the part before the @.'],
    ['a'.repeat(65), 'At most 64 characters.'],
    ['a b', 'Spaces are not allowed.'],
    ['a@b', 'Enter only the part before the @.'],
    ['trail.', 'Cannot start or end with a dot.'],
    ['dou..ble', 'Cannot contain two dots in a row.'],
    ['"quoted"', "Use letters, digits, dots and !#$%&'*+/=?^_`{|}~- only."],
    ['ÄBC', "Use letters, digits, dots and !#$%&'*+/=?^_`{|}~- only."],
    ['John.Doe', undefined],
  ])('the panel explains local part %j: %j, and the schema agrees', (input, problem) => {
    expect(localPartProblem(input)).toBe(problem);
    expect(localPartSchema.safeParse(input).success).toBe(problem === undefined);
  });
});
