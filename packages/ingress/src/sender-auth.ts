/**
 * Sender authentication on the SMTP listener (the MX): SPF (RFC 7208), DKIM (RFC 6376), DMARC (RFC 7489) and ARC
 * (RFC 8617) of each message, checked with mailauth (by Nodemailer's author) against the configured DNS servers. The
 * verdict becomes an `Authentication-Results` field (RFC 8601) and a `Received-SPF` field (RFC 7208 §9.1) above the
 * message, so mail clients and filters can tell a forged `From:` from a real one; a message that fails DMARC from a
 * domain whose policy is `p=reject` is refused (RFC 7489 §6.6.2), as Gmail and Microsoft do. LMTP is never checked:
 * its client is the operator's MTA, which does its own checks.
 */
import { randomInt } from 'node:crypto';
import type { MxRecord } from 'node:dns';
import type { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import { domainToASCII } from 'node:url';
import { blockedAddressReason, createResolver, dnsErrorCode, isNoRecord, type DnsConfig, type TrustedProxies } from '@mailroom/core';
import { authenticate, spf, type AuthenticateResult, type DMARCResult } from 'mailauth';
import { DnsCache, type DnsLookup } from './dns-cache.ts';
import type { SmtpReply } from './replies.ts';

export interface SenderAuthConfig {
  /** Clients whose mail is neither checked nor stripped of Authentication-Results (INGRESS_UNCHECKED_CLIENTS). */
  skip: TrustedProxies;
  /** Refuse mail that fails DMARC when the author's domain publishes `p=reject` (INGRESS_DMARC_REJECT). */
  dmarcReject: boolean;
  /** Where the lookups go (MAILROOM_DNS_SERVERS, MAILROOM_DNS_TIMEOUT_MS); no servers = the system's resolver. */
  dns: DnsConfig;
  /** Longest the checks of one message may take (INGRESS_SENDER_AUTH_TIMEOUT_MS); past it the message is deferred. */
  timeoutMs: number;
  /** Refuse MAIL FROM domains that do not exist or publish a null MX (INGRESS_REJECT_UNKNOWN_SENDER_DOMAIN). */
  rejectUnknownSenderDomain: boolean;
  /**
   * ARC sealers (domains, their subdomains included) whose word on a message's DMARC is taken when the message itself
   * fails it, e.g. a mailing list that added a footer (INGRESS_ARC_TRUSTED_SEALERS); absent or empty = none.
   */
  arcTrustedSealers?: string[] | undefined;
  /** How long DNS answers are reused across messages (INGRESS_DNS_CACHE_S); absent or 0 = every lookup asks. */
  dnsCacheMs?: number | undefined;
}

/** An SPF record whose `all` passes every host (`+all`, `all`): its pass says nothing about the client. */
const PERMITS_ALL = /(?:^|\s)\+?all(?:\s|$)/i;

/** Definite SPF results other than pass (RFC 7208 §2.6): the probe of {@link SenderAuth.spfPasses} must get one. */
const SPF_NOT_PASSING = new Set(['fail', 'softfail', 'neutral', 'none']);

/**
 * A random public address of the client's family (IPv6 in 2000::/3; none that core's blockedAddressReason, the
 * webhooks' guard, calls private, loopback, link-local, multicast or reserved), on which an SPF record that names real
 * networks does not pass.
 */
export function randomProbeAddress(clientIp: string): string {
  const v6 = isIP(clientIp) === 6 && !/^::ffff:\d/i.test(clientIp);
  for (;;) {
    const a = v6
      ? Array.from({ length: 8 }, (_, i) => (i === 0 ? 0x2000 | randomInt(0, 0x2000) : randomInt(0, 0x10000)).toString(16)).join(':')
      : Array.from({ length: 4 }, () => randomInt(0, 256)).join('.');
    if (blockedAddressReason(a) === null) return a;
  }
}

/** How long "no such name / record" answers are reused when answers are cached. */
export const DNS_NEGATIVE_CACHE_MS = 60_000;
/** DNS answers kept at most for the sender checks (the oldest go first). */
export const DNS_CACHE_ENTRIES = 20_000;

/** The sealers trusted by default: the large mailbox providers and list hosts of the ARC community's list. */
export const DEFAULT_ARC_TRUSTED_SEALERS = ['google.com', 'googlegroups.com', 'microsoft.com', 'messagingengine.com', 'fastmail.com'];

/** Postfix's reply for reject_unknown_sender_domain (temporary by default there too: a DNS fault heals, spam rarely retries). */
export const SENDER_DOMAIN_NOT_FOUND: SmtpReply = { code: 450, status: '4.1.8', text: 'Sender address rejected: Domain not found' };
/** RFC 7505 §4.2: a domain with a null MX sends no mail, so mail claiming to be from it is refused. */
export const SENDER_NULL_MX: SmtpReply = { code: 550, status: '5.7.27', text: 'Sender address rejected: Domain has null MX' };

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
  /** Set when the message is refused: it failed DMARC and its domain's policy is reject, or the checks timed out. */
  refuse: SmtpReply | null;
  /** Why, for logs and the delivery log (`DMARC policy reject`, `sender checks timed out`). */
  reason: string | null;
  /** The trusted ARC sealer whose DMARC pass let a message through that fails DMARC here (RFC 8617 §7.2.1). */
  arcOverride?: string | null;
}

/** RFC 3463 X.4.3 "Directory server failure" (DNS): temporary, so the sender keeps the message and tries again. */
export const CHECKS_TIMED_OUT: SmtpReply = { code: 451, status: '4.4.3', text: 'Sender checks timed out, try again later' };

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

/**
 * A trusted intermediary's word for a message that fails DMARC here (RFC 8617 §7.2.1, as Gmail and Microsoft take
 * it): the ARC chain validates, the newest set was sealed by a trusted sealer (`d=` of its ARC-Seal, that domain or
 * a subdomain of it), and that sealer's ARC-Authentication-Results record DMARC passing for the same author's domain
 * when the message reached it. The sealer's domain, or null.
 */
function trustedArcPass(r: AuthenticateResult, author: string, trusted: readonly string[]): string | null {
  const arc = r.arc || null;
  if (!trusted.length || arc?.status.result !== 'pass') return null;
  const sealed = arc.chain?.[arc.chain.length - 1]?.['arc-seal']?.parsed as Record<string, { value?: unknown }> | undefined;
  const sealer = typeof sealed?.d?.value === 'string' ? sealed.d.value.toLowerCase() : '';
  if (!sealer || !trusted.some((t) => sealer === t || sealer.endsWith(`.${t}`))) return null;
  const dmarc = (arc.authenticationResults as { dmarc?: { result?: unknown; header?: { from?: unknown } } } | undefined)?.dmarc;
  const from = typeof dmarc?.header?.from === 'string' ? dmarc.header.from.toLowerCase() : '';
  return dmarc?.result === 'pass' && from === author.toLowerCase() ? sealer : null;
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
  /** Every lookup of the checks, through the cache when there is one. */
  private readonly ask: DnsLookup;

  constructor(
    private readonly config: SenderAuthConfig,
    /** The authserv-id of our Authentication-Results fields: the host name in our banner and Received fields. */
    private readonly hostname: string,
    onDnsLookup?: (result: 'hit' | 'miss') => void,
  ) {
    const resolver: Resolver = createResolver(config.dns);
    const direct: DnsLookup = (name, type) => resolver.resolve(name, type);
    const cache = config.dnsCacheMs
      ? new DnsCache(direct, {
          positiveMs: config.dnsCacheMs,
          negativeMs: DNS_NEGATIVE_CACHE_MS,
          maxEntries: DNS_CACHE_ENTRIES,
          onLookup: onDnsLookup,
        })
      : null;
    this.ask = cache ? (name, type) => cache.resolve(name, type) : direct;
  }

  /** mailauth's view of the lookups. */
  private readonly resolver = (name: string, type: string) => this.ask(name, type) as Promise<string[][] | string[]>;

  /** `checking`'s result, or null once it has run longer than the checks may (it finishes on its own, unheeded). */
  private async bounded<T>(checking: Promise<T>): Promise<T | null> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), this.config.timeoutMs)));
    // the loser of the race must not become an unhandled rejection
    checking.catch(() => undefined);
    return Promise.race([checking, timedOut]).finally(() => clearTimeout(timer));
  }

  /**
   * Whether the envelope passes SPF (RFC 7208: MAIL FROM's domain, or the HELO name's for the null sender), known
   * before any message data: greylisting lets such senders through (INGRESS_GREYLIST_SKIP_SPF_PASS, as milter-greylist
   * does), since the large providers that retry from other networks publish SPF. A pass only counts when the record
   * names the client rather than everyone: the domain's own `+all` (or bare `all`) is refused at once, and otherwise
   * the same record is evaluated again for an address picked at random, which a real sender's networks do not hold.
   * If that one passes too (`+all` reached through `include:` or `redirect=`, `ip4:0.0.0.0/0`, an `exists:` without
   * a macro), the pass does not count; nor does it when the second check cannot decide. Neither does anything but
   * `pass`, a lookup failure or a check that outlasts the checks' timeout. The message's own check at DATA asks again
   * (answered from the DNS cache).
   */
  async spfPasses(input: Omit<SenderAuthInput, 'body'>): Promise<boolean> {
    const helo = input.helo || input.ip;
    const evaluate = (ip: string) =>
      this.bounded(
        spf({
          ip,
          helo: isIP(helo) ? `[${helo}]` : helo,
          sender: input.envelopeFrom || undefined,
          mta: this.hostname,
          resolver: this.resolver,
        }),
      ).catch(() => null);
    const r = await evaluate(input.ip);
    if (r?.status.result !== 'pass' || PERMITS_ALL.test(r.rr ?? '')) return false;
    const probe = await evaluate(randomProbeAddress(input.ip));
    return probe !== null && SPF_NOT_PASSING.has(probe.status.result);
  }

  /** Whether MAIL FROM domains are checked (INGRESS_REJECT_UNKNOWN_SENDER_DOMAIN). */
  checksSenderDomain(): boolean {
    return this.config.rejectUnknownSenderDomain;
  }

  /** Whether mail from `ip` is checked (everyone but INGRESS_UNCHECKED_CLIENTS). */
  applies(ip: string): boolean {
    return !this.config.skip.has(ip);
  }

  /**
   * The MAIL FROM domain's standing (RFC 5321 §4.1.4 asks that a reverse-path be usable for replies; Postfix's
   * reject_unknown_sender_domain): a domain with neither MX nor A/AAAA records gets {@link SENDER_DOMAIN_NOT_FOUND}, one
   * whose only MX is `.` (RFC 7505 null MX) {@link SENDER_NULL_MX}; anything else, address literals, the null
   * reverse-path and every lookup failure (fail open) pass. `kind` is for metrics and logs.
   */
  async senderDomain(address: string): Promise<{ kind: 'ok' | 'unknown' | 'null_mx' | 'error'; reply: SmtpReply | null }> {
    const ok = { kind: 'ok' as const, reply: null };
    const at = address.lastIndexOf('@');
    const raw = at < 0 ? '' : address.slice(at + 1);
    if (!raw || raw.startsWith('[')) return ok;
    const domain = domainToASCII(raw.replace(/\.$/, ''));
    if (!domain) return { kind: 'unknown', reply: SENDER_DOMAIN_NOT_FOUND };
    try {
      const mx = (await this.ask(domain, 'MX')) as MxRecord[];
      if (mx.length === 1 && mx[0]!.exchange === '') return { kind: 'null_mx', reply: SENDER_NULL_MX };
      if (mx.length) return ok;
    } catch (err) {
      if (dnsErrorCode(err) === 'ENOTFOUND') return { kind: 'unknown', reply: SENDER_DOMAIN_NOT_FOUND };
      if (!isNoRecord(err)) return { kind: 'error', reply: null };
    }
    // no MX: the domain's address records stand in for it (RFC 5321 §5.1)
    const addresses = await Promise.allSettled([this.ask(domain, 'A'), this.ask(domain, 'AAAA')]);
    if (addresses.some((r) => r.status === 'fulfilled' && (r.value as string[]).length)) return ok;
    if (addresses.every((r) => r.status === 'rejected' && isNoRecord(r.reason))) return { kind: 'unknown', reply: SENDER_DOMAIN_NOT_FOUND };
    return { kind: 'error', reply: null };
  }

  /**
   * The verdict on one message. Checks that outlast `timeoutMs` (a sender's domains with slow or silent name servers)
   * defer the message with {@link CHECKS_TIMED_OUT} rather than deliver it unchecked, which would let a forger slip
   * past DMARC by being slow; the lookups still running finish on their own, each bounded by the DNS timeout.
   */
  async check(input: SenderAuthInput): Promise<SenderAuthVerdict> {
    const r = await this.bounded(
      authenticate(verificationInput(input.body), {
        ip: input.ip,
        helo: input.helo || undefined,
        sender: input.envelopeFrom || undefined,
        mta: this.hostname,
        resolver: this.resolver,
        disableBimi: true,
      }),
    );
    if (!r) {
      const results = { spf: 'timeout', dkim: 'timeout', dmarc: 'timeout', arc: 'timeout' };
      return { fields: '', results, fromDomain: null, refuse: CHECKS_TIMED_OUT, reason: 'sender checks timed out' };
    }
    const dmarc = r.dmarc || null;
    const results: SenderAuthResults = {
      spf: r.spf ? r.spf.status.result : 'none',
      dkim: dkimWord(r),
      dmarc: dmarc ? dmarc.status.result : 'none',
      arc: r.arc ? r.arc.status.result : 'none',
    };
    // RFC 7489 §6.6.4: pct=N applies the policy to N% of failing mail (the rest is treated as the next policy down)
    const pct = dmarc?.pct ?? 100;
    const rejects = this.config.dmarcReject && dmarc && results.dmarc === 'fail' && dmarc.policy === 'reject' && randomInt(100) < pct;
    const arcOverride = rejects ? trustedArcPass(r, authorDomain(dmarc), this.config.arcTrustedSealers ?? []) : null;
    const refuse = rejects && !arcOverride ? dmarcRefusal(authorDomain(dmarc)) : null;
    return {
      fields: safeFields(r.headers),
      results,
      fromDomain: dmarc ? authorDomain(dmarc) : null,
      refuse,
      reason: refuse ? 'DMARC policy reject' : null,
      arcOverride,
    };
  }
}

/** The fields mailauth writes: each line of its output starts one of these, or continues the one before. */
const OUR_FIELDS = /^(?:received-spf|authentication-results|arc-seal|arc-message-signature|arc-authentication-results):/i;

/**
 * mailauth's fields with nothing a sender could turn into a field of its own: they quote the sender's HELO name, MAIL
 * FROM, DKIM tags and From: domain. Control characters (but tab) are dropped from every line, and a line that neither
 * starts one of our fields nor continues one is indented, so it stays inside the field before it (blank ones go).
 */
export function safeFields(fields: string): string {
  const lines = fields.replace(/\r\n$/, '').split('\r\n');
  // eslint-disable-next-line no-control-regex
  const clean = lines.map((l) => l.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, '')).filter((l) => l.trim());
  return `${clean.map((l, i) => (i === 0 || /^[ \t]/.test(l) || OUR_FIELDS.test(l) ? l : ` ${l}`)).join('\r\n')}\r\n`;
}

const HEADER_END = Buffer.from('\r\n\r\n');
/** DKIM signatures verified per message, the first ones in the header (the newest); the rest are not looked at. */
export const MAX_DKIM_SIGNATURES = 5;

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
 * A message's header section without the fields `drop` picks (`name` lower-cased, `value` unfolded), and where the rest
 * of the message starts (its blank line); null when `drop` picks none. Only the header section becomes a string.
 */
function withoutFields(body: Buffer, drop: (name: string, value: string) => boolean): { head: Buffer; rest: number } | null {
  const end = body.indexOf(HEADER_END);
  const rest = end < 0 ? body.length : end + 2;
  const kept: string[] = [];
  let dropped = false;
  // a field is a line plus the lines that continue it (starting with space or tab)
  for (const field of body
    .subarray(0, rest)
    .toString('latin1')
    .split(/\r\n(?![ \t])/)) {
    const colon = field.indexOf(':');
    if (colon > 0 && drop(field.slice(0, colon).trimEnd().toLowerCase(), field.slice(colon + 1).replace(/\r\n/g, ''))) {
      dropped = true;
      continue;
    }
    kept.push(field);
  }
  // the header section ends with CRLF, so `kept` ends with '' and the join keeps that CRLF; the blank line follows
  return dropped ? { head: Buffer.from(kept.join('\r\n'), 'latin1'), rest } : null;
}

/**
 * Removes the Authentication-Results fields that claim to come from us (their authserv-id is `hostname`, compared
 * without case) from a message's header section, as RFC 8601 §5 requires of the host that adds its own: otherwise a
 * sender could forge `dkim=pass` under our name below the field we add. Fields of other hosts stay. Returns `body`
 * itself (no copy) when there is nothing to remove.
 */
export function removeForgedAuthResults(body: Buffer, hostname: string): Buffer {
  const ours = hostname.toLowerCase();
  const cut = withoutFields(body, (name, value) => name === 'authentication-results' && authservId(value) === ours);
  return cut ? Buffer.concat([cut.head, body.subarray(cut.rest)]) : body;
}

/**
 * What mailauth is given to verify: the message, or, when it carries more than {@link MAX_DKIM_SIGNATURES} DKIM
 * signatures, the message with only the first (newest) of them, as a stream of the shortened header and the untouched
 * rest (no copy of the body). mailauth verifies every signature one after another, a DNS lookup and a body hash each,
 * so a sender could otherwise make one message cost hundreds of lookups and passes over 50 MB (OpenDKIM verifies 3 by
 * default: MaximumSignaturesToVerify).
 */
export function verificationInput(body: Buffer): Buffer | Readable {
  let seen = 0;
  const cut = withoutFields(body, (name) => name === 'dkim-signature' && ++seen > MAX_DKIM_SIGNATURES);
  return cut ? Readable.from([cut.head, body.subarray(cut.rest)], { objectMode: false }) : body;
}
