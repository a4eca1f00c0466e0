/**
 * SMTP MTA Strict Transport Security (RFC 8461) for the domains Mailroom receives mail for: the policy file a sending
 * MTA fetches from `https://mta-sts.<domain>/.well-known/mta-sts.txt`, the id published beside it in DNS, and which
 * domain a request's Host names. Pure functions: the service (services/mta-sts.ts) decides who may change a mode and
 * which domains are served.
 */
import { createHash } from 'node:crypto';
import { normalizeDomain } from './address.ts';
import type { MtaStsMode } from './schemas/mta-sts.ts';

/** A stored mode (the column is text with a CHECK) as the type. */
export function isMtaStsMode(v: string | null): v is MtaStsMode {
  return v === 'testing' || v === 'enforce' || v === 'none';
}

/** The well-known path of the policy file (RFC 8461 §3.3). */
export const MTA_STS_PATH = '/.well-known/mta-sts.txt';
const HOST_PREFIX = 'mta-sts.';

/**
 * The policy file: `version` first (§3.2), one `mx` line per allowed MX host, lines ending in CRLF (its ABNF allows LF
 * or CRLF; CRLF is what every parser reads). The mx lines stay in `none` mode too: harmless, and a sender that reads
 * the withdrawal still sees which hosts the domain used.
 */
export function mtaStsPolicyText(mode: MtaStsMode, mxHosts: readonly string[], maxAgeSeconds: number): string {
  const mx = [...new Set(mxHosts.map((h) => h.toLowerCase().replace(/\.$/, '')))];
  return ['version: STSv1', `mode: ${mode}`, ...mx.map((h) => `mx: ${h}`), `max_age: ${maxAgeSeconds}`, ''].join('\r\n');
}

/**
 * The policy's id for the `_mta-sts` TXT record (§3.1: 1 to 32 letters and digits): derived from the policy's text, so
 * it changes exactly when the policy does (its mode, the MX host, max_age), which is what tells senders to fetch it
 * again. 20 hex digits of SHA-256.
 */
export function mtaStsPolicyId(policyText: string): string {
  return createHash('sha256').update(policyText).digest('hex').slice(0, 20);
}

/** The `_mta-sts.<domain>` TXT record's value for a policy (§3.1). */
export function mtaStsRecordValue(policyText: string): string {
  return `v=STSv1; id=${mtaStsPolicyId(policyText)}`;
}

/**
 * Whether a published `_mta-sts` TXT value announces `id` (§3.1: `v=STSv1` first, then `;`-separated fields, optional
 * whitespace around them; unknown fields ignored).
 */
export function mtaStsRecordNames(value: string, id: string): boolean {
  const fields = value.split(';').map((f) => f.trim());
  if (fields[0] !== 'v=STSv1') return false;
  return fields.slice(1).some((f) => f === `id=${id}`);
}

/**
 * The domain whose policy a request asks for, from its Host header: `mta-sts.<domain>`, in any letter case, with an
 * optional port and trailing dot. Returns the domain as Mailroom stores it (lowercase, IDNs in punycode), or null for
 * any other host (an IP literal, a bare `mta-sts.com`, something that is not a host name).
 */
export function mtaStsDomainFromHost(host: string | undefined): string | null {
  if (!host || host.length > 300 || host.startsWith('[')) return null;
  const port = /:(\d{1,5})$/.exec(host);
  if (port && Number(port[1]) > 65_535) return null;
  const name = (port ? host.slice(0, port.index) : host).replace(/\.$/, '').toLowerCase();
  if (!name.startsWith(HOST_PREFIX)) return null;
  return normalizeDomain(name.slice(HOST_PREFIX.length)) ?? null;
}
