/**
 * Sender authentication on the SMTP listener (the MX): SPF (RFC 7208), DKIM (RFC 6376), DMARC (RFC 7489) and ARC
 * (RFC 8617) of each message, checked with mailauth (by Nodemailer's author) against the configured DNS servers. The
 * verdict becomes an `Authentication-Results` field (RFC 8601) and a `Received-SPF` field (RFC 7208 §9.1) above the
 * message, so mail clients and filters can tell a forged `From:` from a real one; a message that fails DMARC from a
 * domain whose policy is `p=reject` is refused (RFC 7489 §6.6.2), as Gmail and Microsoft do. LMTP is never checked:
 * its client is the operator's MTA, which does its own checks.
 */
import { randomInt } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import type { DnsConfig, TrustedProxies } from '@mailroom/core';
import { authenticate, type AuthenticateResult, type DMARCResult } from 'mailauth';
import type { SmtpReply } from './replies.ts';

export interface SenderAuthConfig {
  /** Clients whose mail is neither checked nor stripped of Authentication-Results (INGRESS_SENDER_AUTH_SKIP). */
  skip: TrustedProxies;
  /** Refuse mail that fails DMARC when the author's domain publishes `p=reject` (INGRESS_DMARC_REJECT). */
  dmarcReject: boolean;
  /** Where the lookups go (MAILROOM_DNS_SERVERS, MAILROOM_DNS_TIMEOUT_MS); no servers = the system's resolver. */
  dns: DnsConfig;
}

export interface SenderAuthInput {
  /** The message as received (CRLF line endings). */
  body: Buffer;
  /** The client's address (the PROXY protocol's, behind a trusted balancer). */
  ip: string;
  /** EHLO/HELO name. */
  helo: string;
  /** MAIL FROM; '' for the null reverse-path (SPF then checks the HELO name, RFC 7208 §2.4). */
  envelopeFrom: string;
}

/** Result words as they appear in Authentication-Results, one per method (`none` when nothing applied). */
export interface SenderAuthResults {
  spf: string;
  dkim: string;
  dmarc: string;
  arc: string;
}

export interface SenderAuthVerdict {
  /** `Authentication-Results` and `Received-SPF`, each CRLF-terminated and folded, to prepend to the message. */
  fields: string;
  results: SenderAuthResults;
  /** The author's domain (RFC5322.From) DMARC was evaluated for, when the message had exactly one. */
  fromDomain: string | null;
  /** Set when the message is refused: it failed DMARC and its domain's policy is reject. */
  refuse: SmtpReply | null;
}

/** RFC 7372 §3.2 X.7.26 "Multiple authentication checks failed": DMARC, which needs SPF or DKIM aligned, failed. */
export function dmarcRefusal(domain: string): SmtpReply {
  return {
    code: 550,
    status: '5.7.26',
    text: `Unauthenticated mail from ${domain.slice(0, 253)} is refused by its DMARC policy`,
  };
}

/** The one DKIM word for the message: pass if any signature passed, else the first signature's result, else none. */
function dkimWord(r: AuthenticateResult): string {
  const rows = r.dkim.results ?? [];
  if (rows.some((d) => d.status.result === 'pass')) return 'pass';
  return rows[0]?.status.result ?? 'none';
}

/** The From: domain DMARC was evaluated for (mailauth's `domain` is its organizational domain). */
function authorDomain(dmarc: DMARCResult): string {
  const d: unknown = dmarc.status.header?.d;
  return typeof d === 'string' && d ? d : dmarc.domain;
}

/**
 * Checks messages with mailauth over node:dns with the configured servers (one try each, so a dead resolver costs one
 * timeout per lookup, and SPF stops after 10 lookups as RFC 7208 §4.6.4 requires). BIMI is off: it fetches logos over
 * HTTPS, which a mail server has no use for.
 */
export class SenderAuth {
  private readonly resolver: Resolver;

  constructor(
    private readonly config: SenderAuthConfig,
    /** The authserv-id of our Authentication-Results fields: the host name in our banner and Received fields. */
    private readonly hostname: string,
  ) {
    this.resolver = new Resolver({ timeout: config.dns.timeoutMs, tries: 1 });
    if (config.dns.servers.length) this.resolver.setServers(config.dns.servers);
  }

  /** Whether mail from `ip` is checked (everyone but INGRESS_SENDER_AUTH_SKIP). */
  applies(ip: string): boolean {
    return !this.config.skip.has(ip);
  }

  async check(input: SenderAuthInput): Promise<SenderAuthVerdict> {
    const r = await authenticate(input.body, {
      ip: input.ip,
      helo: input.helo || undefined,
      sender: input.envelopeFrom || undefined,
      mta: this.hostname,
      resolver: (name, type) => this.resolver.resolve(name, type) as Promise<string[][] | string[]>,
      disableBimi: true,
    });
    const dmarc = r.dmarc || null;
    const results: SenderAuthResults = {
      spf: r.spf ? r.spf.status.result : 'none',
      dkim: dkimWord(r),
      dmarc: dmarc ? dmarc.status.result : 'none',
      arc: r.arc ? r.arc.status.result : 'none',
    };
    // RFC 7489 §6.6.4: pct=N applies the policy to N% of failing mail (the rest is treated as the next policy down)
    const pct = dmarc?.pct ?? 100;
    const refuse =
      this.config.dmarcReject && dmarc && results.dmarc === 'fail' && dmarc.policy === 'reject' && randomInt(100) < pct
        ? dmarcRefusal(authorDomain(dmarc))
        : null;
    return { fields: r.headers, results, fromDomain: dmarc ? authorDomain(dmarc) : null, refuse };
  }
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** The authserv-id an Authentication-Results value starts with (after any comments), lower-cased. */
function authservId(value: string): string {
  let v = value.trimStart();
  // RFC 8601 §2.2 allows CFWS before the id: drop leading comments (not nested beyond what senders write)
  while (v.startsWith('(')) {
    const close = v.indexOf(')');
    if (close < 0) return '';
    v = v.slice(close + 1).trimStart();
  }
  return (/^[^\s;()]+/.exec(v)?.[0] ?? '').toLowerCase();
}

/**
 * Removes the Authentication-Results fields that claim to come from us (their authserv-id is `hostname`, compared
 * without case) from a message's header section, as RFC 8601 §5 requires of the host that adds its own: otherwise a
 * sender could forge `dkim=pass` under our name below the field we add. Fields of other hosts stay. Returns `body`
 * itself (no copy) when there is nothing to remove.
 */
export function removeForgedAuthResults(body: Buffer, hostname: string): Buffer {
  const end = body.indexOf(HEADER_END);
  const headerLength = end < 0 ? body.length : end + 2;
  const header = body.subarray(0, headerLength).toString('latin1');
  if (!/(?:^|\n)authentication-results[ \t]*:/i.test(header)) return body;
  const ours = hostname.toLowerCase();
  const kept: string[] = [];
  let removed = false;
  // a field is a line plus the lines that continue it (starting with space or tab)
  for (const field of header.split(/\r\n(?![ \t])/)) {
    const m = /^authentication-results[ \t]*:([\s\S]*)$/i.exec(field);
    if (m && authservId(m[1]!.replace(/\r\n/g, '')) === ours) {
      removed = true;
      continue;
    }
    kept.push(field);
  }
  if (!removed) return body;
  // the header section ends with CRLF, so `kept` ends with '' and the join keeps that CRLF; the blank line follows
  return Buffer.concat([Buffer.from(kept.join('\r\n'), 'latin1'), body.subarray(headerLength)]);
}
