import {
  argon2Params,
  baseEnvSchema,
  boolSchema,
  nonNegativeIntSchema,
  parseEnv,
  pop3AppPasswordsEnvShape,
  pop3PolicyDefaults,
  pop3PolicyEnvShape,
  portSchema,
  positiveIntSchema,
} from '@mailroom/runtime';
import { trustedSourcesEnvSchema, type NetworkKeyOptions, type TrustedProxies } from '@mailroom/core';

/** RFC 1939 §3: an autologout timer, if present, must be at least 10 minutes once logged in. */
export const MIN_IDLE_TIMEOUT_S = 600;

/** The POP3 service's environment: the shared settings plus its own named limits. */
export const pop3EnvSchema = baseEnvSchema.extend({
  /** Total simultaneous connections (both ports). */
  POP3_MAX_CONNECTIONS: positiveIntSchema.default(5000),
  /** Simultaneous connections from one client network (see POP3_IPV4_PREFIX / POP3_IPV6_PREFIX). */
  POP3_MAX_CONNECTIONS_PER_IP: positiveIntSchema.default(50),
  /** Prefix length that makes one client network for POP3_MAX_CONNECTIONS_PER_IP: 32 = per IPv4 address. */
  POP3_IPV4_PREFIX: positiveIntSchema.min(8).max(32).default(32),
  /** The same for IPv6: a subscriber usually holds a whole /64, so by default a /64 counts as one client. */
  POP3_IPV6_PREFIX: positiveIntSchema.min(16).max(128).default(64),
  /** Operator defaults of LOGIN-DELAY and EXPIRE (RFC 2449); domains and mailboxes override them. */
  ...pop3PolicyEnvShape,
  /** Autologout timer once logged in (TRANSACTION state); RFC 1939 requires at least 600 s. */
  POP3_IDLE_TIMEOUT_S: positiveIntSchema
    .min(MIN_IDLE_TIMEOUT_S, `must be at least ${MIN_IDLE_TIMEOUT_S} (RFC 1939)`)
    .default(MIN_IDLE_TIMEOUT_S),
  /** Idle timer before login (AUTHORIZATION state). */
  POP3_AUTH_TIMEOUT_S: positiveIntSchema.default(60),
  /** Absolute time from connect to a successful login; commands (CAPA, NOOP, failed logins) do not extend it. */
  POP3_AUTH_DEADLINE_S: positiveIntSchema.default(180),
  /** Pooled database connections for logins, listings and deletions. */
  POP3_DB_CONNECTIONS: positiveIntSchema.max(1000).default(20),
  /** Database connections RETR/TOP streams may hold at once (their own pool, so stalled downloads cannot take the rest). */
  POP3_STREAM_CONNECTIONS: positiveIntSchema.max(1000).default(10),
  /** Longest wait for a pooled database connection; beyond it the command gets -ERR [SYS/TEMP]. */
  POP3_DB_ACQUIRE_TIMEOUT_MS: positiveIntSchema.max(600_000).default(5000),
  /** RETR/TOP must move at least this many octets per second, measured over each POP3_RETR_RATE_WINDOW_S; 0 = no minimum. */
  POP3_RETR_MIN_BYTES_PER_SEC: nonNegativeIntSchema.default(4096),
  /** The window (and grace period) of POP3_RETR_MIN_BYTES_PER_SEC: a transfer slower than the minimum over it is cut. */
  POP3_RETR_RATE_WINDOW_S: positiveIntSchema.max(3600).default(60),
  /** Longest command line accepted, CRLF included; a longer one gets -ERR and the connection is closed. */
  POP3_MAX_LINE_OCTETS: positiveIntSchema.min(256).max(65536).default(2048),
  /** Unknown, malformed or wrong-state commands tolerated before the connection is closed. */
  POP3_MAX_BAD_COMMANDS: positiveIntSchema.default(10),
  /** Allow USER/PASS/AUTH without TLS from non-loopback clients (loopback is always allowed). */
  POP3_ALLOW_PLAINTEXT_AUTH: boolSchema.default(false),
  POP3_METRICS_PORT: portSchema.default(9101),
  /**
   * Maildrop lease lifetime; the holder renews it every third of this, so a crashed holder's lease lapses at most this
   * long after the crash (a dead holder on the same machine is recognised at once, see lease-holder.ts).
   */
  POP3_LEASE_TTL_S: positiveIntSchema.max(3600).default(12),
  /**
   * A throttled login whose turn comes within this many ms is answered after waiting for it; a later turn is refused at
   * once with -ERR [SYS/TEMP] (the connection is not held for up to 15 s).
   */
  POP3_THROTTLE_MAX_SLEEP_MS: nonNegativeIntSchema.max(15_000).default(3_000),
  /**
   * Operator default: POP3 accepts app passwords only (the main password then signs in to self-service only). A domain
   * or mailbox setting overrides it (see README, "POP3 app passwords"). Shared with the API, which shows it.
   */
  ...pop3AppPasswordsEnvShape,
  /**
   * Load balancers that send a PROXY protocol header (v1 or v2) first, naming the real client: IP addresses and CIDR
   * ranges, comma-separated; empty = off. From them the header is required; from anyone else it is never honoured.
   */
  POP3_PROXY_TRUSTED: trustedSourcesEnvSchema,
});
/** zod comes through @mailroom/runtime's schemas, so this package needs no direct zod dependency. */
export type Pop3Env = ReturnType<typeof pop3EnvSchema.parse>;

/** What the server needs, in the units it uses. Tests build it directly (e.g. with short timeouts). */
export interface Pop3Config {
  host: string;
  /** Plain port (STLS offered); 0 picks a free one. */
  port: number;
  /** Implicit-TLS port (POP3S); 0 picks a free one; null disables it. */
  tlsPort: number | null;
  /** Health/metrics HTTP port; 0 picks a free one; null disables it. */
  metricsPort: number | null;
  /** Bind address of the health/metrics listener (METRICS_HOST, loopback by default whatever `host` is). */
  metricsHost: string;
  maxConnections: number;
  /** Connections per client network (`networkPrefixes`). */
  maxConnectionsPerIp: number;
  networkPrefixes: NetworkKeyOptions;
  /** Operator default minimum interval between logins to one maildrop (RFC 2449 LOGIN-DELAY); 0 = none. */
  loginDelaySeconds: number;
  /** Operator default retention (RFC 2449 EXPIRE) in days; null = NEVER, 0 = retrieved messages go at QUIT. */
  retentionDays: number | null;
  idleTimeoutMs: number;
  authTimeoutMs: number;
  /** From connect to a successful login, whatever the client sends meanwhile. */
  authDeadlineMs: number;
  /** Minimum RETR/TOP transfer rate (octets per second) over each `retrRateWindowMs`; 0 = none. */
  retrMinBytesPerSec: number;
  retrRateWindowMs: number;
  maxLineOctets: number;
  maxBadCommands: number;
  allowPlaintextAuth: boolean;
  leaseTtlMs: number;
  /** Longest brute-force throttle wait served by sleeping; later turns are refused with -ERR [SYS/TEMP]. */
  throttleMaxSleepMs: number;
  /** How long close() lets running commands finish before cutting connections. */
  shutdownGraceMs: number;
  /** Shown in CAPA's IMPLEMENTATION line. */
  implementation: string;
  /** Load balancers whose PROXY header names the client (POP3_PROXY_TRUSTED); absent or empty = PROXY protocol off. */
  proxyTrusted?: TrustedProxies;
  /** How long a trusted load balancer may take to send its PROXY header (default PROXY_HEADER_TIMEOUT_MS). */
  proxyHeaderTimeoutMs?: number;
}

/** The POP3 process's two database pools (see database.ts). */
export interface Pop3DatabaseOptions {
  /** Logins, listings, deletions, leases. */
  connections: number;
  /** RETR/TOP streams: their own pool, so downloads that stall cannot starve the rest. */
  streamConnections: number;
  /** Longest wait for a pooled connection (either pool) before -ERR [SYS/TEMP]. */
  acquireTimeoutMs: number;
}

export function databaseOptionsFromEnv(env: Pop3Env): Pop3DatabaseOptions {
  return {
    connections: env.POP3_DB_CONNECTIONS,
    streamConnections: env.POP3_STREAM_CONNECTIONS,
    acquireTimeoutMs: env.POP3_DB_ACQUIRE_TIMEOUT_MS,
  };
}

export function parsePop3Env(env: NodeJS.ProcessEnv = process.env): Pop3Env {
  return parseEnv(pop3EnvSchema, env);
}

export function configFromEnv(env: Pop3Env): Pop3Config {
  return {
    host: env.MAILROOM_HOST,
    port: env.POP3_PORT,
    tlsPort: env.POP3S_PORT,
    metricsPort: env.POP3_METRICS_PORT,
    metricsHost: env.METRICS_HOST,
    maxConnections: env.POP3_MAX_CONNECTIONS,
    maxConnectionsPerIp: env.POP3_MAX_CONNECTIONS_PER_IP,
    networkPrefixes: { ipv4Prefix: env.POP3_IPV4_PREFIX, ipv6Prefix: env.POP3_IPV6_PREFIX },
    ...pop3PolicyDefaults(env),
    idleTimeoutMs: env.POP3_IDLE_TIMEOUT_S * 1000,
    authTimeoutMs: env.POP3_AUTH_TIMEOUT_S * 1000,
    authDeadlineMs: env.POP3_AUTH_DEADLINE_S * 1000,
    retrMinBytesPerSec: env.POP3_RETR_MIN_BYTES_PER_SEC,
    retrRateWindowMs: env.POP3_RETR_RATE_WINDOW_S * 1000,
    maxLineOctets: env.POP3_MAX_LINE_OCTETS,
    maxBadCommands: env.POP3_MAX_BAD_COMMANDS,
    allowPlaintextAuth: env.POP3_ALLOW_PLAINTEXT_AUTH,
    leaseTtlMs: env.POP3_LEASE_TTL_S * 1000,
    throttleMaxSleepMs: env.POP3_THROTTLE_MAX_SLEEP_MS,
    shutdownGraceMs: 10_000,
    implementation: 'Mailroom',
    proxyTrusted: env.POP3_PROXY_TRUSTED,
  };
}

export { argon2Params };
