/**
 * DNS blocklists for the SMTP listener (INGRESS_DNSBL), as Postfix's `reject_rbl_client` and postscreen: a connecting
 * client whose address a listed zone answers for (an A record in 127.0.0.0/8) gets `554 5.7.1` and is disconnected
 * before it can send anything. LMTP is never looked up (its client is the operator's MTA).
 */
import type { Resolver } from 'node:dns/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { createResolver, dnsErrorCode, isNoRecord, normalizeIp, type DnsConfig, type TrustedProxies } from '@mailroom/core';
import type { SmtpReply } from './replies.ts';

export interface DnsblConfig {
  /** Blocklist zones in the order they are reported (e.g. `zen.spamhaus.org`). */
  zones: string[];
  /** Clients never looked up (INGRESS_UNCHECKED_CLIENTS: the operator's own relays). */
  skip: TrustedProxies;
  dns: DnsConfig;
}

export interface DnsblListing {
  zone: string;
  /** The A record the zone answered with (its return code, e.g. 127.0.0.2). */
  answer: string;
}

/** How long a lookup's result is reused for the same address (postscreen keeps them for an hour). */
export const DNSBL_CACHE_MS = 5 * 60_000;
/** Addresses whose results are kept at most (oldest dropped first). */
export const DNSBL_CACHE_ENTRIES = 10_000;

/**
 * The name a zone is asked for: the IPv4 address's octets reversed, or the IPv6 address's 32 nibbles reversed
 * (RFC 5782 §2.1, §2.4). An IPv4-mapped IPv6 address is looked up as the IPv4 address it carries.
 */
export function dnsblQueryName(ip: string, zone: string): string | null {
  const addr = normalizeIp(ip);
  if (!addr) return null;
  if (isIPv4(addr)) return `${addr.split('.').reverse().join('.')}.${zone}`;
  if (!isIPv6(addr)) return null;
  const [head = '', tail = ''] = addr.split('::');
  // a trailing dotted quad (::ffff:0:1.2.3.4, 64:ff9b::1.2.3.4) is the last two groups
  const groups = (s: string) =>
    (s ? s.split(':') : []).flatMap((g) =>
      g.includes('.')
        ? [0, 2].map((i) =>
            g
              .split('.')
              .map(Number)
              .slice(i, i + 2)
              .reduce((a, b) => a * 256 + b, 0)
              .toString(16),
          )
        : [g],
    );
  const h = groups(head);
  const t = groups(tail);
  const full = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const nibbles = full.map((g) => g.padStart(4, '0')).join('');
  return `${[...nibbles].reverse().join('.')}.${zone}`;
}

/**
 * Whether an answer means "listed" (RFC 5782 §2.3: 127.0.0.0/8). Spamhaus answers 127.255.255.0/24 to say the query
 * itself was refused (public resolver, over the free limit): that is not a listing, and is reported as an error.
 */
function classify(answer: string): 'listed' | 'refused' | 'other' {
  if (answer.startsWith('127.255.255.')) return 'refused';
  return answer.startsWith('127.') ? 'listed' : 'other';
}

/** `554 5.7.1` as Postfix words it, naming the zone so a wrongly listed sender knows where to ask for removal. */
export function dnsblRefusal(ip: string, listing: DnsblListing): SmtpReply {
  return { code: 554, status: '5.7.1', text: `Service unavailable; client [${ip}] blocked using ${listing.zone}` };
}

/**
 * Looks clients up in the configured zones, all at once, each lookup bounded by the DNS timeout. A zone that does not
 * answer, refuses the query or answers outside 127/8 lists nobody (fail open, as Postfix does): a blocklist outage
 * must not stop mail. Results are cached per address for {@link DNSBL_CACHE_MS}.
 */
export class Dnsbl {
  private readonly resolver: Resolver;
  private readonly cache = new Map<string, { at: number; listing: DnsblListing | null }>();

  constructor(
    private readonly config: DnsblConfig,
    private readonly onProblem: (zone: string, problem: string) => void = () => undefined,
  ) {
    this.resolver = createResolver(config.dns);
  }

  /** Whether `ip` is looked up at all (not one of INGRESS_UNCHECKED_CLIENTS). */
  applies(ip: string): boolean {
    return this.config.zones.length > 0 && !this.config.skip.has(ip);
  }

  /** The first zone (in configured order) that lists `ip`, or null. */
  async lookup(ip: string, now = Date.now()): Promise<DnsblListing | null> {
    const cached = this.cache.get(ip);
    if (cached && now - cached.at < DNSBL_CACHE_MS) return cached.listing;
    const answers = await Promise.all(this.config.zones.map((zone) => this.ask(ip, zone)));
    const listing = answers.find((a): a is DnsblListing => a !== null) ?? null;
    this.cache.delete(ip);
    this.cache.set(ip, { at: now, listing });
    if (this.cache.size > DNSBL_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    return listing;
  }

  private async ask(ip: string, zone: string): Promise<DnsblListing | null> {
    const name = dnsblQueryName(ip, zone);
    if (!name) return null;
    let answers: string[];
    try {
      answers = await this.resolver.resolve4(name);
    } catch (err) {
      if (!isNoRecord(err)) this.onProblem(zone, dnsErrorCode(err));
      return null;
    }
    const listed = answers.find((a) => classify(a) === 'listed');
    if (listed) return { zone, answer: listed };
    if (answers.some((a) => classify(a) === 'refused')) this.onProblem(zone, `query refused (${answers.join(', ')})`);
    return null;
  }
}
