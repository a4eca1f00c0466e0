// The address rules every layer applies: the server's normalisation (address.ts), the zod schemas (schemas/common.ts)
// and the panel's live form checks (apps/web/lib/validation.ts) all import them from here. Browser-safe: no Node
// built-ins and no zod, so the panel's client bundle can take them (`@mailroom/core/address-rules`).

export const MAX_LOCAL_PART_OCTETS = 64;
export const MAX_DOMAIN_OCTETS = 253;
export const MAX_ADDRESS_OCTETS = 254;

const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
/** RFC 5321 dot-atom: atext runs separated by single dots (no quoted local parts, no leading/trailing dot). */
export const DOT_ATOM = new RegExp(`^${ATEXT}(\\.${ATEXT})*$`);
/** A label of a domain as typed: letters of any script (IDN), marks, digits and inner hyphens, 1–63 characters. */
const TYPED_LABEL = /^(?!-)[\p{L}\p{M}\p{N}-]{1,63}(?<!-)$/u;

/** UTF-8 length of a string. */
export function octets(v: string): number {
  return new TextEncoder().encode(v).length;
}

/** RFC 5321 dot-atom local part of at most 64 octets (case is folded by the server). */
export function isValidLocalPart(v: string): boolean {
  return v.length > 0 && octets(v) <= MAX_LOCAL_PART_OCTETS && DOT_ATOM.test(v);
}

/** Why a local part is invalid (RFC 5321 dot-atom, ≤ 64 octets), as a sentence for a form, or undefined when it is fine. */
export function localPartProblem(v: string): string | undefined {
  if (!v) return 'Enter the part before the @.';
  if (octets(v) > MAX_LOCAL_PART_OCTETS) return `At most ${MAX_LOCAL_PART_OCTETS} characters.`;
  if (/\s/.test(v)) return 'Spaces are not allowed.';
  if (v.includes('@')) return 'Enter only the part before the @.';
  if (v.startsWith('.') || v.endsWith('.')) return 'Cannot start or end with a dot.';
  if (v.includes('..')) return 'Cannot contain two dots in a row.';
  if (!DOT_ATOM.test(v)) return "Use letters, digits, dots and !#$%&'*+/=?^_`{|}~- only.";
  return undefined;
}

/**
 * A first check of a domain name as typed: labels of letters (any script, for IDNs), digits and hyphens, at least
 * two labels, no trailing dot, no IP literal. The server converts it to lowercase punycode and checks label lengths
 * (normalizeDomain).
 */
export function looksLikeDomainName(v: string): boolean {
  if (!v || v.length > MAX_DOMAIN_OCTETS || v.endsWith('.') || v.startsWith('.')) return false;
  const labels = v.split('.');
  if (labels.length < 2) return false;
  if (!labels.every((l) => TYPED_LABEL.test(l))) return false;
  return !/^\d+$/.test(labels[labels.length - 1]!);
}

/** `local@domain` as typed passes both first checks (split on the last @). */
export function looksLikeAddress(v: string): boolean {
  const at = v.lastIndexOf('@');
  return at > 0 && isValidLocalPart(v.slice(0, at)) && looksLikeDomainName(v.slice(at + 1));
}
