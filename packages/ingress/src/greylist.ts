/**
 * Greylisting for the SMTP listener (INGRESS_GREYLIST; RFC 6647, as postgrey and rspamd do it). The first attempt to
 * deliver from a client network to a recipient for a sender (the "triplet") gets `451 4.7.1`; a real MTA retries,
 * and a retry after the delay passes. The triplet then passes at once until it has not been seen for the maximum age.
 * Much bulk mail software never retries. A client network that has passed for several triplets is no longer
 * greylisted at all (postgrey's auto-whitelist of clients), so a large provider is delayed a few times, not forever.
 *
 * The state is one row per triplet in PostgreSQL, shared by every ingress replica (a retry may reach another one),
 * keyed by a SHA-256 of the triplet: no address is stored. One statement decides and records each attempt.
 * LMTP, INGRESS_UNCHECKED_CLIENTS and INGRESS_GREYLIST_EXEMPT_CLIENTS are never greylisted, nor (by default) a sender
 * whose envelope passes SPF. INGRESS_GREYLIST is the default of domains that have no setting of their own.
 */
import { createHash } from 'node:crypto';
import { networkKey, type TrustedProxies } from '@mailroom/core';
import type { PgPool } from '@mailroom/db';
import type { SmtpReply } from './replies.ts';

export interface GreylistConfig {
  /** Greylist the recipients of domains that have no setting of their own (INGRESS_GREYLIST); a domain's own wins. */
  enabled: boolean;
  /** Seconds a retry must wait after the first attempt (postgrey --delay, 300). */
  delaySeconds: number;
  /** Hours after the first attempt during which a retry still counts; later, it starts over (postgrey --retry-window, 2 days). */
  retryWindowHours: number;
  /** Days a passed triplet, or an unpassed one, is kept after it was last seen (postgrey --max-age, 35). */
  maxAgeDays: number;
  /** Triplets a client network must have passed to skip greylisting for every triplet; 0 = never (postgrey --auto-whitelist-clients, 5). */
  autoWhitelistClients: number;
  /** Clients never greylisted (INGRESS_UNCHECKED_CLIENTS). */
  skip: TrustedProxies;
  /** Further clients never greylisted: partners' relays, forwarders (INGRESS_GREYLIST_EXEMPT_CLIENTS). */
  exempt: TrustedProxies;
  /** Senders whose envelope passes SPF are not greylisted (INGRESS_GREYLIST_SKIP_SPF_PASS; needs the sender checks). */
  skipSpfPass: boolean;
}

export type GreylistVerdict =
  /**
   * passed: the retry after the delay; known: a triplet that passed before; whitelisted: its client network has passed
   * enough; spf_pass: the envelope passes SPF (decided before any triplet is looked at).
   */
  { pass: true; why: 'passed' | 'known' | 'whitelisted' | 'spf_pass' } | { pass: false; retryInSeconds: number; reply: SmtpReply };

/** The network a triplet is counted for: large senders retry from another host of the same pool. */
export function greylistClient(ip: string): string {
  return networkKey(ip, { ipv4Prefix: 24, ipv6Prefix: 64 });
}

/**
 * The sender as a triplet sees it, so one list or one bounce service is one sender: lower case; `<>` for the null
 * sender; a BATV tag (`prvs=0123abcdef=alice@example.com`) and a subaddress (`alice+tag@`) dropped; an SRS0 address
 * read back to the original sender; digit runs in the local part made `#` (VERP: `bounce-4711@list` and
 * `bounce-4712@list` are one sender).
 */
export function greylistSender(address: string): string {
  let a = address.trim().toLowerCase();
  if (!a) return '<>';
  a = a.replace(/^(?:prvs|msprvs\d?)=[0-9a-z]{4,16}=/, '');
  const srs = /^srs0[=+-][^=]+=[^=]+=([^=]+)=([^@]+)@/.exec(a);
  if (srs) a = `${srs[2]}@${srs[1]}`;
  const at = a.lastIndexOf('@');
  const local = at < 0 ? a : a.slice(0, at);
  const domain = at < 0 ? '' : a.slice(at);
  const plus = local.indexOf('+');
  return `${(plus > 0 ? local.slice(0, plus) : local).replace(/\d+/g, '#')}${domain}`;
}

/** The triplet's key: SHA-256 of client network, normalized sender and lower-cased recipient. */
function greylistKey(client: string, sender: string, recipient: string): Buffer {
  return createHash('sha256')
    .update(`${client}\0${greylistSender(sender)}\0${recipient.trim().toLowerCase()}`)
    .digest();
}

function greylistReply(retryInSeconds: number): SmtpReply {
  return { code: 451, status: '4.7.1', text: `Greylisted, please try again in ${retryInSeconds} seconds` };
}

/**
 * One attempt, decided and recorded at once. A new triplet (or one whose retry window or maximum age ran out) starts
 * over at now; a known one passes once the delay since its first attempt is over, and then keeps passing. A client
 * network with enough passed triplets passes a new one at once (and that triplet is recorded as passed).
 */
const CHECK_SQL = `
WITH old AS (SELECT passed_at FROM greylist WHERE key = $1),
c AS (
  SELECT $6::int > 0 AND (
    SELECT count(*) FROM (
      SELECT 1 FROM greylist WHERE client = $2 AND passed_at > now() - make_interval(days => $5::int) LIMIT $6::int
    ) p
  ) >= $6::int AS whitelisted
)
INSERT INTO greylist AS g (key, client, first_seen, passed_at, last_seen)
SELECT $1, $2, now(), CASE WHEN c.whitelisted THEN now() END, now() FROM c
ON CONFLICT (key) DO UPDATE SET
  first_seen = CASE WHEN (g.passed_at IS NULL AND g.first_seen < now() - make_interval(hours => $4::int))
                      OR g.passed_at < now() - make_interval(days => $5::int)
                    THEN now() ELSE g.first_seen END,
  passed_at = CASE WHEN g.passed_at >= now() - make_interval(days => $5::int) THEN now()
                   WHEN g.passed_at IS NULL AND g.first_seen <= now() - make_interval(secs => $3::int)
                        AND g.first_seen >= now() - make_interval(hours => $4::int) THEN now()
                   WHEN (SELECT whitelisted FROM c) THEN now()
                   END,
  last_seen = now()
RETURNING g.passed_at IS NOT NULL AS passed,
  (SELECT whitelisted FROM c) AS whitelisted,
  COALESCE((SELECT passed_at >= now() - make_interval(days => $5::int) FROM old), false) AS known,
  GREATEST(1, round(extract(epoch FROM g.first_seen + make_interval(secs => $3::int) - now())))::int AS retry_in`;

export class Greylist {
  constructor(
    private readonly db: PgPool,
    private readonly config: GreylistConfig,
  ) {}

  /**
   * Whether a recipient is greylisted at all: its domain's setting (`null` = INGRESS_GREYLIST) says so, and the client
   * is none of INGRESS_UNCHECKED_CLIENTS and INGRESS_GREYLIST_EXEMPT_CLIENTS.
   */
  applies(ip: string, domainSetting: boolean | null): boolean {
    return (domainSetting ?? this.config.enabled) && !this.config.skip.has(ip) && !this.config.exempt.has(ip);
  }

  /** Whether an envelope that passes SPF goes through without greylisting (INGRESS_GREYLIST_SKIP_SPF_PASS). */
  get skipsSpfPass(): boolean {
    return this.config.skipSpfPass;
  }

  async check(ip: string, sender: string, recipient: string): Promise<GreylistVerdict> {
    const client = greylistClient(ip);
    const { delaySeconds, retryWindowHours, maxAgeDays, autoWhitelistClients } = this.config;
    const { rows } = await this.db.query<{ passed: boolean; whitelisted: boolean; known: boolean; retry_in: number }>(CHECK_SQL, [
      greylistKey(client, sender, recipient),
      client,
      delaySeconds,
      retryWindowHours,
      maxAgeDays,
      autoWhitelistClients,
    ]);
    const r = rows[0]!;
    if (r.passed) return { pass: true, why: r.known ? 'known' : r.whitelisted ? 'whitelisted' : 'passed' };
    return { pass: false, retryInSeconds: r.retry_in, reply: greylistReply(r.retry_in) };
  }

  /** Deletes triplets not seen for the maximum age, and unpassed ones whose retry window is over; rows deleted. */
  async prune(chunk = 10_000): Promise<number> {
    let total = 0;
    for (;;) {
      const { rowCount } = await this.db.query(
        `DELETE FROM greylist WHERE key IN (
           SELECT key FROM greylist
           WHERE last_seen < now() - make_interval(days => $1)
              OR (passed_at IS NULL AND first_seen < now() - make_interval(hours => $2))
           LIMIT $3)`,
        [this.config.maxAgeDays, this.config.retryWindowHours, chunk],
      );
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < chunk) return total;
    }
  }
}
