import { baseEnvSchema, boolSchema, nonNegativeIntSchema, parseEnv, portSchema, positiveIntSchema } from '@mailroom/runtime';
import { z } from 'zod';
import { quotaWarningThresholdsSchema } from '@mailroom/core/schemas';
import { trustedSourcesEnvSchema, type TrustedProxies } from '@mailroom/core';
import { DEFAULT_RECIPIENT_DELIMITER } from './recipients.ts';
import type { DnsblConfig } from './dnsbl.ts';
import type { GreylistConfig } from './greylist.ts';
import { DEFAULT_ARC_TRUSTED_SEALERS, type SenderAuthConfig } from './sender-auth.ts';

/** Default message size limit (50 MiB) announced in EHLO SIZE; trace fields are added on top of it. */
export const DEFAULT_MAX_MESSAGE_BYTES = 52_428_800;

/** `80,95`: distinct percentages 1-100, at most 5; empty = no warnings. */
const quotaWarningThresholdsEnvSchema = z
  .string()
  .trim()
  .transform((v) => (v ? v.split(',').map((x) => Number(x.trim())) : []))
  .pipe(quotaWarningThresholdsSchema);

/** Domain names, comma-separated: lower-cased, root dots dropped, empty entries skipped; at most `max`. */
function domainListSchema(max: number, message: string) {
  return z
    .string()
    .trim()
    .transform((v) =>
      v
        .split(',')
        .map((d) => d.trim().toLowerCase().replace(/\.$/, ''))
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^(?=.{1,200}$)([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/, message)).max(max));
}

/** The ingress process environment: the shared base plus ingress limits and policy. */
export const ingressEnvSchema = baseEnvSchema.extend({
  INGRESS_METRICS_PORT: portSchema.default(9102),
  /** Bind address of the LMTP listener (for the MTA in front): loopback unless said otherwise, whatever MAILROOM_HOST is. */
  LMTP_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** Largest message accepted (octets of the message as received, CRLF line endings), announced in SIZE. */
  INGRESS_MAX_MESSAGE_BYTES: positiveIntSchema.max(1_000_000_000).default(DEFAULT_MAX_MESSAGE_BYTES),
  /**
   * Memory for message data across all sessions, counted at what a message really costs (MEMORY_COST_PER_OCTET × its
   * octets); a message that would exceed it gets 452 4.3.1 (raised to fit one message of INGRESS_MAX_MESSAGE_BYTES).
   */
  INGRESS_MAX_BUFFERED_BYTES: positiveIntSchema.default(536_870_912),
  /** Largest header section; a message whose header does not end within it is refused (554 5.6.0). */
  INGRESS_MAX_HEADER_BYTES: positiveIntSchema.default(1_048_576),
  /** Over-quota reply: `temporary` = 452 4.2.2 (senders retry), `permanent` = 552 5.2.2 (senders bounce). */
  INGRESS_QUOTA_REPLY: z.enum(['temporary', 'permanent']).default('temporary'),
  /** Concurrent connections per listener (LMTP and SMTP each). */
  INGRESS_MAX_CONNECTIONS: positiveIntSchema.default(200),
  /** Concurrent SMTP connections from one IP address; 0 = unlimited. LMTP (a trusted MTA) is not limited per IP. */
  INGRESS_MAX_CONNECTIONS_PER_IP: nonNegativeIntSchema.default(20),
  /** New SMTP connections per minute from one IP address; 0 = unlimited. */
  INGRESS_MAX_CONNECTIONS_PER_IP_PER_MINUTE: nonNegativeIntSchema.default(120),
  /** Messages (MAIL commands) per minute from one IP address over SMTP; 0 = unlimited. */
  INGRESS_MAX_MESSAGES_PER_IP_PER_MINUTE: nonNegativeIntSchema.default(120),
  /** Leading bits of an IPv4 address that count as one client for the SMTP per-address limits (32 = the address). */
  INGRESS_IPV4_PREFIX: z.coerce.number().int().min(8).max(32).default(32),
  /** Leading bits of an IPv6 address that count as one client for the SMTP per-address limits (64: one subscriber). */
  INGRESS_IPV6_PREFIX: z.coerce.number().int().min(16).max(128).default(64),
  /** Refused recipients in one SMTP connection after which each further refusal is delayed (Postfix smtpd_soft_error_limit). */
  INGRESS_SOFT_ERROR_LIMIT: nonNegativeIntSchema.default(10),
  /** Refused recipients in one SMTP connection at which it gets 421 4.7.0 and is closed (smtpd_hard_error_limit); 0 = never. */
  INGRESS_HARD_ERROR_LIMIT: nonNegativeIntSchema.default(20),
  /** Delay unit after a refusal past the soft limit: the n-th refusal past it waits n × this (smtpd_error_sleep_time). */
  INGRESS_ERROR_SLEEP_MS: nonNegativeIntSchema.max(60_000).default(1000),
  /** Recipients per transaction. */
  INGRESS_MAX_RECIPIENTS: positiveIntSchema.default(100),
  /** Longest command line in octets. */
  INGRESS_MAX_COMMAND_OCTETS: positiveIntSchema.min(512).default(4096),
  /** Idle timeout while the client owes us input. */
  INGRESS_SOCKET_TIMEOUT_MS: positiveIntSchema.default(120_000),
  /** How long close() waits for open sessions before answering 421 and disconnecting them. */
  INGRESS_CLOSE_TIMEOUT_MS: positiveIntSchema.default(10_000),
  /** Host name in the banner and Received fields; defaults to MAILROOM_PUBLIC_HOST, then the machine's host name. */
  INGRESS_HOSTNAME: z
    .string()
    .trim()
    .min(1)
    .optional()
    .or(z.literal('').transform(() => undefined)),
  /** Offer the SMTP listener (the MX); LMTP is always on. */
  INGRESS_SMTP_ENABLED: boolSchema.default(true),
  /**
   * Where mail to `postmaster` goes (RFC 5321 §4.5.1: every receiving host must accept it): the bare `<postmaster>`
   * recipient, and `postmaster@<hosted domain>` when that domain has no mailbox, alias or catch-all for it. A hosted
   * address (mailbox or alias) of the operator's; unset = such mail is refused like any unknown user.
   */
  INGRESS_POSTMASTER_ADDRESS: z
    .string()
    .trim()
    .regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'must be an address like postmaster@example.net')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  /**
   * Subaddressing (Postfix's recipient_delimiter): `name+tag@domain` with no address of its own goes to `name@domain`
   * before the catch-all. Each character is a delimiter (the first one in the local part splits it); empty = off.
   */
  INGRESS_RECIPIENT_DELIMITER: z
    .string()
    .regex(/^[-!#$%&'*+/=?^_`{|}~]{0,8}$/, "must be up to 8 of the characters - ! # $ % & ' * + / = ? ^ _ ` { | } ~, or empty")
    .default(DEFAULT_RECIPIENT_DELIMITER),
  /** Write the delivery log (every recipient outcome) into PostgreSQL; `off` only for comparisons such as the benchmark. */
  DELIVERY_LOG: boolSchema.default(true),
  /**
   * Named (prepared) statements for the per-message queries: planned once per connection. Off behind a
   * transaction-pooling PgBouncer older than 1.21 (or without max_prepared_statements), which cannot keep them.
   */
  DATABASE_PREPARED_STATEMENTS: boolSchema.default(true),
  /** Operator default of the quota warning thresholds, percent of a mailbox's quota (a domain may set its own). */
  QUOTA_WARNING_THRESHOLDS: quotaWarningThresholdsEnvSchema.default([80, 95]),
  /** Database pool size for the ingress process. */
  INGRESS_DB_CONNECTIONS: positiveIntSchema.max(200).default(10),
  /**
   * Load balancers in front of the SMTP listener that send a PROXY protocol header (v1 or v2) naming the client: IP
   * addresses and CIDR ranges, comma-separated; empty = off. From them the header is required; from anyone else never read.
   */
  INGRESS_PROXY_TRUSTED: trustedSourcesEnvSchema,
  /**
   * Check SPF, DKIM, DMARC and ARC of mail received on the SMTP listener (mailauth, over MAILROOM_DNS_SERVERS), add
   * Authentication-Results and Received-SPF fields, and remove forged Authentication-Results carrying our host name.
   */
  INGRESS_SENDER_AUTH: boolSchema.default(true),
  /**
   * SMTP clients that are neither checked (SPF/DKIM/DMARC) nor looked up in DNSBLs: the operator's own relays and
   * content filters. IP addresses and CIDR ranges, `loopback`, `private`; `none` = check everyone. Like Postfix's
   * mynetworks and policyd-spf's skip_addresses. It never lets anyone relay.
   */
  INGRESS_UNCHECKED_CLIENTS: z.preprocess((v) => v ?? 'loopback', trustedSourcesEnvSchema),
  /**
   * Greylisting of SMTP deliveries (RFC 6647, as postgrey): the first attempt of an unknown (client network, sender,
   * recipient) triplet gets 451 4.7.1, a retry after INGRESS_GREYLIST_DELAY_S passes. Off by default: it delays the
   * first mail from every new sender by the sender's retry interval (often 5-30 minutes). It is the default of domains
   * without a setting of their own (`greylisting` in the API and panel), which may turn it on or off for themselves.
   */
  INGRESS_GREYLIST: boolSchema.default(false),
  /** Seconds a greylisted triplet's retry must wait (postgrey --delay). */
  INGRESS_GREYLIST_DELAY_S: nonNegativeIntSchema.max(86_400).default(300),
  /** Hours after a triplet's first attempt in which its retry still counts; later it starts over (postgrey --retry-window). */
  INGRESS_GREYLIST_RETRY_WINDOW_H: positiveIntSchema.max(24 * 30).default(48),
  /** Days a triplet is remembered after it was last seen (postgrey --max-age). */
  INGRESS_GREYLIST_MAX_AGE_D: positiveIntSchema.max(3650).default(35),
  /** Passed triplets after which a client network is not greylisted any more; 0 = never (postgrey --auto-whitelist-clients). */
  INGRESS_GREYLIST_AUTO_WHITELIST: nonNegativeIntSchema.max(1000).default(5),
  /**
   * SMTP clients never greylisted besides INGRESS_UNCHECKED_CLIENTS (which also skips the sender checks): a partner's
   * relay, a forwarder. IP addresses and CIDR ranges, `private`; empty = none.
   */
  INGRESS_GREYLIST_EXEMPT_CLIENTS: trustedSourcesEnvSchema,
  /**
   * A sender whose envelope passes SPF is not greylisted (milter-greylist's default): the large providers retry from
   * other networks, and publish SPF. Needs INGRESS_SENDER_AUTH (its resolver and DNS cache).
   */
  INGRESS_GREYLIST_SKIP_SPF_PASS: boolSchema.default(true),
  /**
   * DNS blocklist zones for SMTP clients (Postfix reject_rbl_client), comma-separated, e.g. `zen.spamhaus.org`: a
   * listed client gets 554 5.7.1 at connect. Empty = off. Needs a resolver the list serves (not a public one).
   */
  INGRESS_DNSBL: z.preprocess((v) => v ?? '', domainListSchema(10, 'must be DNS zone names like zen.spamhaus.org')),
  /** Refuse (550 5.7.26) mail that fails DMARC when the author's domain publishes p=reject (RFC 7489 §6.6.2). */
  INGRESS_DMARC_REJECT: boolSchema.default(true),
  /**
   * Seconds the sender checks reuse a DNS answer across messages (the next message from a sender asks the same
   * questions); "no such record" answers at most 60 s, failures never. 0 = no cache (a local Unbound caches instead).
   */
  INGRESS_DNS_CACHE_S: nonNegativeIntSchema.max(3600).default(300),
  /**
   * ARC sealers whose DMARC verdict is taken for mail that fails DMARC here (RFC 8617 §7.2.1): a mailing list or
   * forwarder that changed the message after checking it. Domains (their subdomains included), comma-separated;
   * `none` = trust no sealer. Default: the large providers' and list hosts' sealing domains.
   */
  INGRESS_ARC_TRUSTED_SEALERS: z.preprocess(
    (v) => (v === undefined ? DEFAULT_ARC_TRUSTED_SEALERS.join(',') : String(v).trim().toLowerCase() === 'none' ? '' : v),
    domainListSchema(50, 'must be domain names like google.com'),
  ),
  /**
   * Refuse MAIL FROM domains that do not exist (450 4.1.8, as Postfix's reject_unknown_sender_domain) or publish a null
   * MX (550 5.7.27, RFC 7505 §4.2). Part of the sender checks: off with INGRESS_SENDER_AUTH=false.
   */
  INGRESS_REJECT_UNKNOWN_SENDER_DOMAIN: boolSchema.default(true),
  /** Longest the sender checks of one message may take; past it the message gets 451 4.4.3 (the sender retries). */
  INGRESS_SENDER_AUTH_TIMEOUT_MS: positiveIntSchema.min(100).max(600_000).default(30_000),
});
export type IngressEnv = z.infer<typeof ingressEnvSchema>;

/** What the ingress factory needs; built from the environment by {@link ingressConfigFromEnv} or directly by tests. */
export interface IngressConfig {
  /** Bind address of the SMTP listener (MAILROOM_HOST). */
  host: string;
  /** Bind address of the LMTP listener (LMTP_HOST). */
  lmtpHost: string;
  /** Bind address of the HTTP health/metrics listener (METRICS_HOST). */
  metricsHost: string;
  lmtpPort: number;
  smtpPort: number;
  /** null = no HTTP endpoint. */
  metricsPort: number | null;
  hostname: string;
  smtpEnabled: boolean;
  maxMessageBytes: number;
  /** Memory for message data across all sessions, in octets × MEMORY_COST_PER_OCTET (raised to fit one largest message). */
  maxBufferedBytes: number;
  maxHeaderBytes: number;
  quotaReply: 'temporary' | 'permanent';
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxConnectionsPerIpPerMinute: number;
  maxMessagesPerIpPerMinute: number;
  /** Prefix lengths that make one client for the per-address SMTP limits. */
  ipv4Prefix: number;
  ipv6Prefix: number;
  /** SMTP only (LMTP's MTA is trusted): refused recipients before delays start, and at which the connection is closed. */
  softErrorLimit: number;
  hardErrorLimit: number;
  errorSleepMs: number;
  maxRecipients: number;
  maxCommandOctets: number;
  socketTimeoutMs: number;
  closeTimeoutMs: number;
  /** Operator's address for mail to postmaster that no domain takes (see INGRESS_POSTMASTER_ADDRESS). */
  postmasterAddress?: string | undefined;
  /** Subaddress delimiters (INGRESS_RECIPIENT_DELIMITER); empty: off. */
  recipientDelimiter: string;
  /** Delivery log on (DELIVERY_LOG). */
  deliveryLog: boolean;
  /** Named statements for the per-message queries (DATABASE_PREPARED_STATEMENTS). */
  preparedStatements: boolean;
  /** Operator default quota warning thresholds in percent (QUOTA_WARNING_THRESHOLDS). */
  quotaWarningThresholds: number[];
  /** Load balancers whose PROXY header names the SMTP client (INGRESS_PROXY_TRUSTED); absent or empty = off. */
  proxyTrusted?: TrustedProxies;
  /** How long a trusted load balancer may take to send its PROXY header (default PROXY_HEADER_TIMEOUT_MS). */
  proxyHeaderTimeoutMs?: number;
  /** SPF/DKIM/DMARC/ARC checks on the SMTP listener (INGRESS_SENDER_AUTH, on by default); absent = off (tests). */
  senderAuth?: SenderAuthConfig | undefined;
  /** DNS blocklists for SMTP clients (INGRESS_DNSBL); absent or no zones = off. */
  dnsbl?: DnsblConfig | undefined;
  /** Greylisting of SMTP deliveries (INGRESS_GREYLIST and a domain's own setting); absent = never (tests). */
  greylist?: GreylistConfig | undefined;
}

export const DEFAULT_INGRESS_CONFIG: IngressConfig = {
  host: '127.0.0.1',
  lmtpHost: '127.0.0.1',
  metricsHost: '127.0.0.1',
  lmtpPort: 2424,
  smtpPort: 2525,
  metricsPort: 9102,
  hostname: 'localhost',
  smtpEnabled: true,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  maxBufferedBytes: 536_870_912,
  maxHeaderBytes: 1_048_576,
  quotaReply: 'temporary',
  recipientDelimiter: DEFAULT_RECIPIENT_DELIMITER,
  maxConnections: 200,
  maxConnectionsPerIp: 20,
  maxConnectionsPerIpPerMinute: 120,
  maxMessagesPerIpPerMinute: 120,
  ipv4Prefix: 32,
  ipv6Prefix: 64,
  softErrorLimit: 10,
  hardErrorLimit: 20,
  errorSleepMs: 1000,
  maxRecipients: 100,
  maxCommandOctets: 4096,
  socketTimeoutMs: 120_000,
  closeTimeoutMs: 10_000,
  deliveryLog: true,
  preparedStatements: true,
  quotaWarningThresholds: [80, 95],
};

export function loadIngressEnv(env: NodeJS.ProcessEnv = process.env): IngressEnv {
  return parseEnv(ingressEnvSchema, env);
}

export function ingressConfigFromEnv(env: IngressEnv, fallbackHostname: string): IngressConfig {
  return {
    host: env.MAILROOM_HOST,
    lmtpHost: env.LMTP_HOST,
    metricsHost: env.METRICS_HOST,
    lmtpPort: env.LMTP_PORT,
    smtpPort: env.SMTP_PORT,
    metricsPort: env.INGRESS_METRICS_PORT,
    hostname: env.INGRESS_HOSTNAME ?? env.MAILROOM_PUBLIC_HOST ?? fallbackHostname,
    smtpEnabled: env.INGRESS_SMTP_ENABLED,
    maxMessageBytes: env.INGRESS_MAX_MESSAGE_BYTES,
    maxBufferedBytes: env.INGRESS_MAX_BUFFERED_BYTES,
    maxHeaderBytes: env.INGRESS_MAX_HEADER_BYTES,
    quotaReply: env.INGRESS_QUOTA_REPLY,
    maxConnections: env.INGRESS_MAX_CONNECTIONS,
    maxConnectionsPerIp: env.INGRESS_MAX_CONNECTIONS_PER_IP,
    maxConnectionsPerIpPerMinute: env.INGRESS_MAX_CONNECTIONS_PER_IP_PER_MINUTE,
    maxMessagesPerIpPerMinute: env.INGRESS_MAX_MESSAGES_PER_IP_PER_MINUTE,
    ipv4Prefix: env.INGRESS_IPV4_PREFIX,
    ipv6Prefix: env.INGRESS_IPV6_PREFIX,
    softErrorLimit: env.INGRESS_SOFT_ERROR_LIMIT,
    hardErrorLimit: env.INGRESS_HARD_ERROR_LIMIT,
    errorSleepMs: env.INGRESS_ERROR_SLEEP_MS,
    maxRecipients: env.INGRESS_MAX_RECIPIENTS,
    maxCommandOctets: env.INGRESS_MAX_COMMAND_OCTETS,
    socketTimeoutMs: env.INGRESS_SOCKET_TIMEOUT_MS,
    closeTimeoutMs: env.INGRESS_CLOSE_TIMEOUT_MS,
    postmasterAddress: env.INGRESS_POSTMASTER_ADDRESS,
    recipientDelimiter: env.INGRESS_RECIPIENT_DELIMITER,
    deliveryLog: env.DELIVERY_LOG,
    preparedStatements: env.DATABASE_PREPARED_STATEMENTS,
    quotaWarningThresholds: env.QUOTA_WARNING_THRESHOLDS,
    proxyTrusted: env.INGRESS_PROXY_TRUSTED,
    dnsbl: env.INGRESS_DNSBL.length
      ? {
          zones: env.INGRESS_DNSBL,
          skip: env.INGRESS_UNCHECKED_CLIENTS,
          dns: { servers: env.MAILROOM_DNS_SERVERS, timeoutMs: env.MAILROOM_DNS_TIMEOUT_MS },
        }
      : undefined,
    greylist: {
      enabled: env.INGRESS_GREYLIST,
      delaySeconds: env.INGRESS_GREYLIST_DELAY_S,
      retryWindowHours: env.INGRESS_GREYLIST_RETRY_WINDOW_H,
      maxAgeDays: env.INGRESS_GREYLIST_MAX_AGE_D,
      autoWhitelistClients: env.INGRESS_GREYLIST_AUTO_WHITELIST,
      skip: env.INGRESS_UNCHECKED_CLIENTS,
      exempt: env.INGRESS_GREYLIST_EXEMPT_CLIENTS,
      skipSpfPass: env.INGRESS_GREYLIST_SKIP_SPF_PASS,
    },
    senderAuth: env.INGRESS_SENDER_AUTH
      ? {
          skip: env.INGRESS_UNCHECKED_CLIENTS,
          dmarcReject: env.INGRESS_DMARC_REJECT,
          arcTrustedSealers: env.INGRESS_ARC_TRUSTED_SEALERS,
          dnsCacheMs: env.INGRESS_DNS_CACHE_S * 1000,
          timeoutMs: env.INGRESS_SENDER_AUTH_TIMEOUT_MS,
          rejectUnknownSenderDomain: env.INGRESS_REJECT_UNKNOWN_SENDER_DOMAIN,
          dns: { servers: env.MAILROOM_DNS_SERVERS, timeoutMs: env.MAILROOM_DNS_TIMEOUT_MS },
        }
      : undefined,
  };
}
