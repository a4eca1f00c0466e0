import os from 'node:os';
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';

/** Thrown when the environment is invalid; `message` lists every bad variable. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

export const portSchema = z.coerce.number().int().min(0).max(65535);
/** "1"/"true"/"yes"/"on" and "0"/"false"/"no"/"off". */
export const boolSchema = z.union([z.boolean(), z.string().trim().toLowerCase()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  ctx.addIssue({ code: 'custom', message: 'expected true/false' });
  return z.NEVER;
});
export const positiveIntSchema = z.coerce.number().int().positive();
export const nonNegativeIntSchema = z.coerce.number().int().min(0);
/** An optional setting where an empty value means unset (as compose files pass `${VAR:-}`). */
export const optionalStringSchema = z
  .string()
  .trim()
  .min(1)
  .optional()
  .or(z.literal('').transform(() => undefined));

/** Shortest MAILROOM_SECRET accepted (characters): a key for keyed hashes should carry at least 128 bits. */
export const MIN_SECRET_LENGTH = 32;
export const SECRET_TOO_SHORT = `must be at least ${MIN_SECRET_LENGTH} characters (e.g. openssl rand -hex 32)`;
/**
 * Parses a list of DNS servers: comma-separated `host[:port]` with IP addresses (IPv6 as `[addr]:port` or bare).
 * Returns them in the form node's dns Resolver#setServers takes, or a message naming the bad entry (never throws).
 */
export function parseDnsServers(value: string): { servers: string[] } | { error: string } {
  const servers: string[] = [];
  for (const raw of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    let host = raw;
    let port: string | undefined;
    const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(raw);
    if (bracket) [, host = '', port] = bracket;
    else if (isIP(raw) !== 6 && raw.includes(':')) [host = '', port] = raw.split(':');
    if (!isIP(host)) return { error: `"${raw.slice(0, 60)}" is not an IP address with an optional :port` };
    if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535)) return { error: `"${raw.slice(0, 60)}" has an invalid port` };
    servers.push(port ? `${isIP(host) === 6 ? `[${host}]` : host}:${port}` : host);
  }
  return { servers };
}

/** A host hosted domains' MX records should name, with the preference value the DNS guide gives it (lower is tried first). */
export interface MxHost {
  host: string;
  priority: number;
}

/** At most this many MX hosts: more would only make senders' retries longer. */
export const MAX_MX_HOSTS = 10;
const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Parses MAILROOM_MX_HOST: comma-separated entries, each `host` or `priority host` (as an MX record writes them, e.g.
 * `10 mx1.example.net, 20 mx2.example.net`). An entry without a priority gets 10 times its position (10, 20, 30…).
 * Hosts are lower-cased without a trailing dot and returned by priority (entries of equal priority in their order).
 * Refused, with a message naming the entry: an IP address (an MX record names a host, RFC 5321 §5.1), a name that is
 * not letters, digits and hyphens in dot-separated labels, a priority outside 0–65535, a host given twice, more than
 * {@link MAX_MX_HOSTS} entries. Never throws.
 */
export function parseMxHosts(value: string): { hosts: MxHost[] } | { error: string } {
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!entries.length) return { error: 'names no host' };
  if (entries.length > MAX_MX_HOSTS) return { error: `names ${entries.length} hosts; at most ${MAX_MX_HOSTS}` };
  const hosts: MxHost[] = [];
  for (const [i, raw] of entries.entries()) {
    const shown = `"${raw.slice(0, 80)}"`;
    const m = /^(?:(\d{1,5})\s+)?(\S+)$/.exec(raw);
    if (!m) return { error: `${shown} is not "host" or "priority host"` };
    const priority = m[1] === undefined ? 10 * (i + 1) : Number(m[1]);
    if (priority > 65535) return { error: `${shown} has a priority over 65535` };
    const host = m[2]!.toLowerCase().replace(/\.$/, '');
    if (isIP(host) || isIP(host.replace(/^\[|\]$/g, ''))) return { error: `${shown} is an IP address; an MX record names a host` };
    const labels = host.split('.');
    if (host.length > 253 || labels.length < 2 || !labels.every((l) => HOST_LABEL.test(l)) || /^\d+$/.test(labels.at(-1)!))
      return { error: `${shown} is not a host name (letters, digits and hyphens in dot-separated labels)` };
    if (hosts.some((h) => h.host === host)) return { error: `${shown} is given twice` };
    hosts.push({ host, priority });
  }
  return { hosts: hosts.sort((a, b) => a.priority - b.priority) };
}

const mxHostsSchema = optionalStringSchema.transform((v, ctx) => {
  if (v === undefined) return undefined;
  const r = parseMxHosts(v);
  if ('error' in r) {
    ctx.addIssue({ code: 'custom', message: `must be comma-separated "host" or "priority host" entries: ${r.error}` });
    return z.NEVER;
  }
  return r.hosts;
});

const dnsServersSchema = z
  .string()
  .trim()
  .default('')
  .transform((v, ctx) => {
    const r = parseDnsServers(v);
    if ('error' in r) {
      ctx.addIssue({ code: 'custom', message: `must be comma-separated host[:port] IP addresses: ${r.error}` });
      return z.NEVER;
    }
    return r.servers;
  });

/** Settings every Mailroom process shares. Each runnable extends this and parses once at start. */
export const baseEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v ? v : undefined))
    .refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), 'must be a postgresql:// URL'),
  MAILROOM_DATA_DIR: z
    .string()
    .trim()
    .min(1)
    .default('./.mailroom')
    .transform((v) => path.resolve(v)),
  MAILROOM_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** Bind address of the /healthz, /readyz and /metrics listeners (POP3, ingress): loopback unless said otherwise. */
  METRICS_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** Public host name shown to users in connection settings (defaults to MAILROOM_HOST). */
  MAILROOM_PUBLIC_HOST: optionalStringSchema,
  /** POP3 (STLS) and POP3S ports as mail clients reach them; `npm start` sets them to POP3_PORT/POP3S_PORT unless given. */
  MAILROOM_PUBLIC_POP3_PORT: portSchema.default(110),
  MAILROOM_PUBLIC_POP3S_PORT: portSchema.default(995),
  WEB_PORT: portSchema.default(3000),
  API_PORT: portSchema.default(3001),
  POP3_PORT: portSchema.default(1110),
  POP3S_PORT: portSchema.default(1995),
  LMTP_PORT: portSchema.default(2424),
  SMTP_PORT: portSchema.default(2525),
  TLS_CERT_FILE: optionalStringSchema,
  TLS_KEY_FILE: optionalStringSchema,
  ARGON2_MEMORY_KIB: z.coerce.number().int().min(1024).max(4_194_304).default(19456),
  ARGON2_TIME_COST: z.coerce.number().int().min(1).max(100).default(2),
  ARGON2_PARALLELISM: z.coerce.number().int().min(1).max(64).default(1),
  /** Password hashes/verifications one process runs at once; 0 = one per core. */
  ARGON2_MAX_CONCURRENT: z.coerce.number().int().min(0).max(256).default(0),
  /** Further ones that wait for a slot; beyond that a login is refused at once (API 429 SERVER_BUSY, POP3 [SYS/TEMP]). */
  ARGON2_MAX_QUEUE: z.coerce.number().int().min(0).max(100_000).default(64),
  /** Secret for keyed hashes (throttle fingerprints); generated into the data dir when unset; at least 32 characters. */
  MAILROOM_SECRET: optionalStringSchema.refine((v) => v === undefined || v.length >= MIN_SECRET_LENGTH, SECRET_TOO_SHORT),
  /**
   * The hosts domains' MX records should name (default MAILROOM_PUBLIC_HOST): one, or several for ingress instances under
   * their own names, comma-separated, each `host` or `priority host` (parseMxHosts).
   */
  MAILROOM_MX_HOST: mxHostsSchema,
  /** The panel's host, target of the autoconfig/autodiscover CNAMEs (default MAILROOM_PUBLIC_HOST). */
  MAILROOM_WEB_HOST: optionalStringSchema,
  /** DNS servers for ownership verification and record checks: comma-separated host[:port]; empty = the system's. */
  MAILROOM_DNS_SERVERS: dnsServersSchema,
  /** Timeout of one DNS query. */
  MAILROOM_DNS_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(5_000),
  /** Pending (unverified) domain claims are removed after this many hours. */
  DOMAIN_CLAIM_TTL_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .default(72),
  /** max_age of the MTA-STS policies served for domains (RFC 8461 §3.2): a day to a year; senders cache a policy this long. */
  MTA_STS_MAX_AGE_S: z.coerce.number().int().min(86_400).max(31_557_600).default(604_800),
  /** Let webhook URLs reach loopback, private, link-local and other internal addresses (API registration and worker). */
  WEBHOOK_ALLOW_PRIVATE: boolSchema.default(false),
});
export type BaseEnv = z.infer<typeof baseEnvSchema>;

/**
 * Parses an environment with a zod object schema. On failure throws ConfigError naming each variable, its value
 * problem and never the value itself (it may be a secret).
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}

/** Argon2 parameters and the per-process queue limits, as the password module (createPasswordHasher) wants them. */
export function argon2Params(
  env: Pick<BaseEnv, 'ARGON2_MEMORY_KIB' | 'ARGON2_TIME_COST' | 'ARGON2_PARALLELISM' | 'ARGON2_MAX_CONCURRENT' | 'ARGON2_MAX_QUEUE'>,
) {
  return {
    memoryKib: env.ARGON2_MEMORY_KIB,
    timeCost: env.ARGON2_TIME_COST,
    parallelism: env.ARGON2_PARALLELISM,
    maxConcurrent: env.ARGON2_MAX_CONCURRENT,
    maxQueue: env.ARGON2_MAX_QUEUE,
  };
}

/** Domain onboarding settings (ownership verification, DNS records and checks), as the core services take them. */
export interface DomainOnboardingConfig {
  /** The MX hosts, most preferred first: domains' MX records should name them (at least the first). */
  mxHosts: MxHost[];
  /** Host names users publish in DNS: POP3 host (SRV targets), panel host (autoconfig CNAMEs). */
  mailHost: string;
  webHost: string;
  pop3Port: number;
  pop3sPort: number;
  claimTtlHours: number;
  /** max_age of the MTA-STS policies served (seconds). */
  mtaStsMaxAgeSeconds: number;
  dns: { servers: string[]; timeoutMs: number };
}

export function domainOnboardingConfig(env: BaseEnv): DomainOnboardingConfig {
  const publicHost = env.MAILROOM_PUBLIC_HOST ?? env.MAILROOM_HOST;
  return {
    mxHosts: env.MAILROOM_MX_HOST ?? [{ host: publicHost.toLowerCase().replace(/\.$/, ''), priority: 10 }],
    mailHost: publicHost,
    webHost: env.MAILROOM_WEB_HOST ?? publicHost,
    pop3Port: env.MAILROOM_PUBLIC_POP3_PORT,
    pop3sPort: env.MAILROOM_PUBLIC_POP3S_PORT,
    claimTtlHours: env.DOMAIN_CLAIM_TTL_HOURS,
    mtaStsMaxAgeSeconds: env.MTA_STS_MAX_AGE_S,
    dns: { servers: env.MAILROOM_DNS_SERVERS, timeoutMs: env.MAILROOM_DNS_TIMEOUT_MS },
  };
}

/** POP3_EXPIRE_DAYS: `never` (or empty) = messages stay until deleted; 0 = deleted once retrieved; n = kept n days. */
export const retentionDaysEnvSchema = z
  .string()
  .trim()
  .toLowerCase()
  .default('never')
  .transform((v, ctx) => {
    if (v === 'never' || v === '') return null;
    if (!/^\d{1,5}$/.test(v) || Number(v) > 36_500) {
      ctx.addIssue({ code: 'custom', message: 'must be "never" or a whole number of days from 0 to 36500' });
      return z.NEVER;
    }
    return Number(v);
  });

/**
 * The operator's POP3 policy defaults (RFC 2449 LOGIN-DELAY and EXPIRE), which domains and mailboxes may override.
 * POP3 enforces and advertises them; the worker's retention job applies POP3_EXPIRE_DAYS. Spread into a service's schema.
 */
export const pop3PolicyEnvShape = {
  /** Minimum interval between logins to one maildrop; 0 = none. */
  POP3_LOGIN_DELAY_S: nonNegativeIntSchema.default(0),
  POP3_EXPIRE_DAYS: retentionDaysEnvSchema,
};

/**
 * The operator's POP3 "app passwords only" default, which domains and mailboxes may override (core appPasswordsRequired).
 * POP3 enforces it; the API reads it too, to show the policy POP3 applies. Give both services the same value.
 */
export const pop3AppPasswordsEnvShape = {
  /** true: POP3 accepts app passwords only (the main password then signs in to the panel only). */
  POP3_REQUIRE_APP_PASSWORDS: boolSchema.default(false),
};

export function pop3PolicyDefaults(env: { POP3_LOGIN_DELAY_S: number; POP3_EXPIRE_DAYS: number | null }): {
  loginDelaySeconds: number;
  retentionDays: number | null;
} {
  return { loginDelaySeconds: env.POP3_LOGIN_DELAY_S, retentionDays: env.POP3_EXPIRE_DAYS };
}

/**
 * argon2 runs on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise), so a process hashing on
 * more cores needs a bigger pool: at least one thread per core, unless the operator set UV_THREADPOOL_SIZE. Call it at
 * the top of an entry, before anything uses the pool. Returns the pool size in effect.
 */
export function sizeThreadPoolForArgon2(env: NodeJS.ProcessEnv = process.env): number {
  env.UV_THREADPOOL_SIZE ??= String(Math.max(4, os.availableParallelism()));
  return threadPoolSize(env);
}

/** libuv's thread pool size as this process was started with (default 4, at most 1024). */
export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : 4;
}
