import { domainToASCII, domainToUnicode } from 'node:url';
import { isValidLocalPart, MAX_ADDRESS_OCTETS, MAX_DOMAIN_OCTETS, octets } from './address-rules.ts';

export * from './address-rules.ts';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** RFC 5321 dot-atom local part, ≤ 64 octets. Returns the lowercase form, or undefined when invalid. */
export function normalizeLocalPart(input: string): string | undefined {
  const v = input.trim();
  return isValidLocalPart(v) ? v.toLowerCase() : undefined;
}

/**
 * A host name as Mailroom stores it: IDNA to lowercase punycode, labels 1–63 of letters/digits/hyphens, at least two
 * labels, ≤ 253 octets, no IP literal, no trailing dot, an alphabetic (or punycode) top-level label.
 */
export function normalizeDomain(input: string): string | undefined {
  const v = input.trim();
  if (!v || v.endsWith('.') || v.startsWith('.') || /[\s/@:[\]]/.test(v)) return undefined;
  const ascii = domainToASCII(v).toLowerCase();
  if (!ascii || ascii.length > MAX_DOMAIN_OCTETS) return undefined;
  const labels = ascii.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return undefined;
  const tld = labels[labels.length - 1]!;
  if (/^\d+$/.test(tld) || !/^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$/.test(tld)) return undefined;
  return ascii;
}

/**
 * The mailbox a local part names: a Quoted-string (RFC 5321 §4.1.2) names the same one as its unquoted content, so
 * `"alice"` and `"al\ice"` are `alice` (RFC 5322 §3.4.1); what quoting cannot make a plain local part (`"a b"`) stays
 * as given and matches no mailbox.
 */
export function unquoteLocalPart(localPart: string): string {
  if (localPart.length < 2 || !localPart.startsWith('"') || !localPart.endsWith('"')) return localPart;
  let out = '';
  for (let i = 1; i < localPart.length - 1; i++) {
    let c = localPart[i]!;
    if (c === '\\') {
      i++;
      if (i >= localPart.length - 1) return localPart;
      c = localPart[i]!;
    } else if (c === '"') return localPart;
    out += c;
  }
  return out;
}

export interface ParsedAddress {
  localPart: string;
  domain: string;
  address: string;
}

/** Parses `local@domain` (case-insensitive, IDN domains accepted) into its stored form. */
export function parseAddress(input: string): ParsedAddress | undefined {
  const at = input.lastIndexOf('@');
  if (at <= 0 || at === input.length - 1) return undefined;
  const localPart = normalizeLocalPart(input.slice(0, at));
  const domain = normalizeDomain(input.slice(at + 1));
  if (!localPart || !domain) return undefined;
  const address = `${localPart}@${domain}`;
  if (octets(address) > MAX_ADDRESS_OCTETS) return undefined;
  return { localPart, domain, address };
}

export interface CanonicalLogin {
  /** The account the login names, spelled as it is stored (lowercase, IDN domain in punycode): the throttle key. */
  account: string;
  /**
   * The login is a spelling authentication accepts: the stored form, or its Unicode domain form, differing only in
   * letter case. False when it holds whitespace, control or format characters (soft hyphen, zero-width joiners …) or
   * anything IDNA/UTS-46 mapping drops or rewrites (fullwidth forms, decomposed accents …): such a login is refused as
   * invalid credentials without a password verification, but still throttled under `account`.
   */
  exact: boolean;
}

/** Whitespace, control, format (U+00AD, U+200B–U+200D, U+2060, U+FEFF …), unassigned and private-use characters. */
const INVISIBLE_OR_SPACE = /[\s\p{C}]/u;

/**
 * The canonical account of a login name (panel users and mailboxes alike), or undefined when it names no possible
 * account (not `local@domain`). Throttling keys on `account`, never on the raw text, so odd spellings of one address
 * (case, surrounding blanks, soft hyphens in the domain) share one count.
 */
export function canonicalLogin(input: string): CanonicalLogin | undefined {
  const lower = input.toLowerCase();
  const parsed = parseAddress(input);
  if (parsed) {
    const spellings = [parsed.address, `${parsed.localPart}@${domainToUnicode(parsed.domain)}`];
    return { account: parsed.address, exact: !INVISIBLE_OR_SPACE.test(input) && spellings.includes(lower) };
  }
  // Forms IDNA refuses outright (a fullwidth hyphen, a zero-width joiner …) still name the account they imitate.
  const folded = parseAddress(input.normalize('NFKC').replace(/[\s\p{C}]/gu, ''));
  if (folded) return { account: folded.address, exact: false };
  // Panel users whose local part is no dot-atom are stored as plain lowercase ASCII (normalizeUserEmail).
  const at = lower.lastIndexOf('@');
  if (at <= 0 || at === lower.length - 1 || lower.length > MAX_ADDRESS_OCTETS || !/^[\x21-\x7e]+$/.test(lower)) return undefined;
  if (!normalizeDomain(lower.slice(at + 1))) return undefined;
  return { account: lower, exact: true };
}
