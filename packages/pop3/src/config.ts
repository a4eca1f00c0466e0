import { argon2Params, baseEnvSchema, boolSchema, nonNegativeIntSchema, parseEnv, portSchema, positiveIntSchema } from '@mailroom/runtime';

/** RFC 1939 §3: an autologout timer, if present, must be at least 10 minutes once logged in. */
export const MIN_IDLE_TIMEOUT_S = 600;

/** The POP3 service's environment: the shared settings plus its own named limits. */
export const pop3EnvSchema = baseEnvSchema.extend({
  /** Total simultaneous connections (both ports). */
  POP3_MAX_CONNECTIONS: positiveIntSchema.default(5000),
  /** Simultaneous connections from one client address. */
  POP3_MAX_CONNECTIONS_PER_IP: positiveIntSchema.default(50),
  /** Operator default minimum interval between logins to one maildrop (RFC 2449 LOGIN-DELAY); 0 = none. */
  POP3_LOGIN_DELAY_S: nonNegativeIntSchema.default(0),
  /** Autologout timer once logged in (TRANSACTION state); RFC 1939 requires at least 600 s. */
  POP3_IDLE_TIMEOUT_S: positiveIntSchema.min(MIN_IDLE_TIMEOUT_S, `must be at least ${MIN_IDLE_TIMEOUT_S} (RFC 1939)`).default(MIN_IDLE_TIMEOUT_S),
  /** Idle timer before login (AUTHORIZATION state). */
  POP3_AUTH_TIMEOUT_S: positiveIntSchema.default(60),
  /** Longest command line accepted, CRLF included; a longer one gets -ERR and the connection is closed. */
  POP3_MAX_LINE_OCTETS: positiveIntSchema.min(256).max(65536).default(2048),
  /** Unknown, malformed or wrong-state commands tolerated before the connection is closed. */
  POP3_MAX_BAD_COMMANDS: positiveIntSchema.default(10),
  /** Allow USER/PASS/AUTH without TLS from non-loopback clients (loopback is always allowed). */
  POP3_ALLOW_PLAINTEXT_AUTH: boolSchema.default(false),
  POP3_METRICS_PORT: portSchema.default(9101),
  /** Maildrop lease lifetime; the holder renews it every third of this, a crashed holder's lease lapses after it. */
  POP3_LEASE_TTL_S: positiveIntSchema.max(3600).default(60),
  /**
   * A throttled login whose turn comes within this many ms is answered after waiting for it; a later turn is refused at
   * once with -ERR [SYS/TEMP] (the connection is not held for up to 15 s).
   */
  POP3_THROTTLE_MAX_SLEEP_MS: nonNegativeIntSchema.max(15_000).default(3_000),
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
  maxConnections: number;
  maxConnectionsPerIp: number;
  loginDelaySeconds: number;
  idleTimeoutMs: number;
  authTimeoutMs: number;
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
    maxConnections: env.POP3_MAX_CONNECTIONS,
    maxConnectionsPerIp: env.POP3_MAX_CONNECTIONS_PER_IP,
    loginDelaySeconds: env.POP3_LOGIN_DELAY_S,
    idleTimeoutMs: env.POP3_IDLE_TIMEOUT_S * 1000,
    authTimeoutMs: env.POP3_AUTH_TIMEOUT_S * 1000,
    maxLineOctets: env.POP3_MAX_LINE_OCTETS,
    maxBadCommands: env.POP3_MAX_BAD_COMMANDS,
    allowPlaintextAuth: env.POP3_ALLOW_PLAINTEXT_AUTH,
    leaseTtlMs: env.POP3_LEASE_TTL_S * 1000,
    throttleMaxSleepMs: env.POP3_THROTTLE_MAX_SLEEP_MS,
    shutdownGraceMs: 10_000,
    implementation: 'Mailroom',
  };
}

export { argon2Params };
