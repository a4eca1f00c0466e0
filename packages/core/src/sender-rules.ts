/**
 * Sender rules: envelope senders a domain's owner (for the whole domain) or a mailbox's user (for that mailbox) blocks
 * (refused at RCPT on the SMTP listener) or allows (never greylisted). A pattern is an address (`alice@example.com`) or
 * a domain (`example.com`, which covers its subdomains too); within a list the most specific rule that matches a sender
 * decides, and a block in either list refuses. Shared by the API (what is stored) and the ingress (what
 * is looked up), so both spell an address the same way.
 */
import { normalizeDomain, normalizeLocalPart, parseAddress, unquoteLocalPart } from './address.ts';

/** Rules one list (a domain's own, or one mailbox's) may hold: a list a person reads in the panel, not a blocklist feed. */
export const MAX_SENDER_RULES = 1000;

/**
 * The stored form of a pattern: `local@domain` lowercased with an IDN domain in punycode, or a bare domain (`@domain`
 * and mailcow's `*@domain` are accepted as one). Undefined when it is neither.
 */
export function normalizeSenderPattern(input: string): string | undefined {
  const v = input.trim();
  if (!v.includes('@')) return normalizeDomain(v);
  if (v.startsWith('@')) return normalizeDomain(v.slice(1));
  if (v.startsWith('*@')) return normalizeDomain(v.slice(2));
  return parseAddress(v)?.address;
}

/** Why a pattern is refused, for the field's error message. */
export function senderPatternProblem(input: string): string {
  if (input.includes('*')) return 'Write the domain without a wildcard: example.com covers its subdomains too.';
  return 'Enter an address (name@example.com) or a domain (example.com).';
}

/**
 * The patterns that would match an envelope sender, most specific first: the address, then its domain and each parent
 * domain of two labels or more (`a@mail.example.com` → `a@mail.example.com`, `mail.example.com`, `example.com`). A
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
  return out;
}
