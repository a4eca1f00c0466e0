/**
 * Sender rules: senders a domain's owner (for the whole domain) or a mailbox's user (for that mailbox) blocks (refused
 * on the SMTP listener at RCPT as MAIL FROM, and at DATA as the From author) or allows (MAIL FROM never greylisted). A
 * pattern is an address (`alice@example.com`), a domain (`example.com`, which covers its subdomains too) or a
 * top-level domain (`.xyz`); within a list the most specific rule that matches a sender decides, and a block in either
 * list refuses. Shared by the API (what is stored) and the ingress (what
 * is looked up), so both spell an address the same way.
 */
import addressparser from 'nodemailer/lib/addressparser/index.js';
import { normalizeDomain, normalizeLocalPart, parseAddress, unquoteLocalPart } from './address.ts';

// held by the browser-safe module, which the panel and the API's schemas read too
export { MAX_SENDER_RULES } from './sender-rule-lines.ts';

/**
 * The stored form of a pattern: `local@domain` lowercased with an IDN domain in punycode, a bare domain (`@domain` and
 * mailcow's `*@domain` are accepted as one), or a whole top-level domain as `.tld` (`*.tld` accepted as one; the IDN
 * `.рф` as `.xn--p1ai`). Undefined when it is none of these.
 */
export function normalizeSenderPattern(input: string): string | undefined {
  const v = input.trim();
  const tld = /^\*?\.([^.@*\s]+)$/.exec(v);
  if (tld) {
    // a valid last label of a domain (letters, or an IDN's xn-- form), as normalizeDomain checks it
    const label = normalizeDomain(`x.${tld[1]}`)?.slice(2);
    return label ? `.${label}` : undefined;
  }
  if (!v.includes('@')) return normalizeDomain(v);
  if (v.startsWith('@')) return normalizeDomain(v.slice(1));
  if (v.startsWith('*@')) return normalizeDomain(v.slice(2));
  return parseAddress(v)?.address;
}

/** Why a pattern is refused, for the field's error message. */
export function senderPatternProblem(input: string): string {
  if (input.includes('*'))
    return 'Write the domain without a wildcard: example.com covers its subdomains too (.xyz: a whole top-level domain).';
  return 'Enter an address (name@example.com), a domain (example.com) or a top-level domain (.xyz).';
}

/**
 * The patterns that would match an envelope sender, most specific first: the address, then its domain and each parent
 * domain of two labels or more, then its top-level domain (`a@mail.example.com` → `a@mail.example.com`,
 * `mail.example.com`, `example.com`, `.com`). A
 * quoted local part is read as its content, as recipients are. The null sender and an address without a valid domain
 * match nothing.
 */
export function senderRuleCandidates(sender: string): string[] {
  const at = sender.lastIndexOf('@');
  if (at <= 0) return [];
  const domain = normalizeDomain(sender.slice(at + 1));
  if (!domain) return [];
  const localPart = normalizeLocalPart(unquoteLocalPart(sender.slice(0, at)));
  const out = localPart ? [`${localPart}@${domain}`] : [];
  const labels = domain.split('.');
  for (let i = 0; i <= labels.length - 2; i++) out.push(labels.slice(i).join('.'));
  out.push(`.${labels[labels.length - 1]}`);
  return out;
}

/**
 * The addresses of an address field's value (a From field: display names, comments, quoted local parts and groups as
 * nodemailer's address parser reads them, as a mail client does), in order, that can name a sender: with an `@`, at
 * most 254 octets (a path's limit, RFC 5321 §4.5.3.1.3), no control characters.
 */
export function fieldAddresses(value: string): string[] {
  return (
    addressparser(value, { flatten: true })
      .map(({ address }) => address)
      // eslint-disable-next-line no-control-regex
      .filter((address) => address.includes('@') && address.length <= 254 && !/[\u0000-\u001f\u007f]/.test(address))
  );
}
