import { isIP } from 'node:net';
import { z } from 'zod';
import { TWO_FACTOR_POLICIES, type Argon2Limits, type Argon2Params, type TwoFactorPolicy, type WebAuthnConfig } from '@mailroom/core';
import type { ClientSettings } from '@mailroom/core/schemas';
import { parseTrustedProxies, type TrustedProxies } from '@mailroom/core/forwarded';
import {
  argon2Params,
  baseEnvSchema,
  domainOnboardingConfig,
  parseEnv,
  positiveIntSchema,
  nonNegativeIntSchema,
  boolSchema,
  optionalStringSchema,
  pop3AppPasswordsEnvShape,
  portSchema,
  type DomainOnboardingConfig,
} from '@mailroom/runtime';

const trustedProxiesSchema = z
  .string()
  .trim()
  .refine(
    (v) => {
      try {
        parseTrustedProxies(v);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'comma-separated IP addresses, CIDR ranges, "loopback", "private" or "none"' },
  );

type WebAuthnEnv = Pick<
  ApiEnv,
  'WEBAUTHN_RP_ID' | 'WEBAUTHN_ORIGIN' | 'MAILROOM_WEB_HOST' | 'MAILROOM_PUBLIC_HOST' | 'MAILROOM_HOST' | 'WEB_PORT'
>;

const isLocalhost = (host: string) => host === 'localhost' || host.endsWith('.localhost');

/**
 * The passkey relying party: WEBAUTHN_RP_ID and WEBAUTHN_ORIGIN, by default derived from the panel's host
 * (MAILROOM_WEB_HOST, else MAILROOM_PUBLIC_HOST): `https://<host>` with that host as RP ID; a panel reached by an IP
 * address or localhost gets `http://localhost:<WEB_PORT>` (browsers accept no IP address as RP ID). Returns the
 * problem instead when the pair cannot work: an IP or malformed RP ID, an origin with a path, plain http beyond
 * localhost, or an origin whose host is not the RP ID or below it.
 */
export function resolveWebAuthn(env: WebAuthnEnv): { rpId: string; origins: string[] } | { error: string } {
  const panelHost = (env.MAILROOM_WEB_HOST ?? env.MAILROOM_PUBLIC_HOST ?? env.MAILROOM_HOST).toLowerCase();
  const derived = isIP(panelHost) || isLocalhost(panelHost) ? 'localhost' : panelHost;
  const rpId = (env.WEBAUTHN_RP_ID ?? derived).toLowerCase();
  if (isIP(rpId) || !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(rpId)) {
    return { error: `WEBAUTHN_RP_ID: "${rpId.slice(0, 80)}" must be a host name (no IP address, scheme or port)` };
  }
  const raw = env.WEBAUTHN_ORIGIN ?? (isLocalhost(rpId) ? `http://localhost:${env.WEB_PORT}` : `https://${rpId}`);
  const origins: string[] = [];
  for (const o of raw
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)) {
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      return { error: `WEBAUTHN_ORIGIN: "${o.slice(0, 80)}" is not a URL` };
    }
    if (url.origin !== o.replace(/\/$/, ''))
      return { error: `WEBAUTHN_ORIGIN: "${o.slice(0, 80)}" must be scheme://host[:port] only (e.g. ${url.origin})` };
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLocalhost(url.hostname)))
      return { error: `WEBAUTHN_ORIGIN: "${o.slice(0, 80)}" must use https (plain http only for localhost)` };
    if (url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`))
      return { error: `WEBAUTHN_ORIGIN: the host of "${o.slice(0, 80)}" must be WEBAUTHN_RP_ID (${rpId}) or a subdomain of it` };
    origins.push(url.origin);
  }
  if (!origins.length) return { error: 'WEBAUTHN_ORIGIN: at least one origin is needed' };
  return { rpId, origins };
}

/** The API's environment: parsed once in main.ts and passed down. */
export const apiEnvSchema = baseEnvSchema
  .extend({
    /** Minimum length of new passwords (users and mailboxes). */
    PASSWORD_MIN_LENGTH: z.coerce.number().int().min(6).max(128).default(10),
    /** Lifetime of a browser session. */
    SESSION_TTL_HOURS: positiveIntSchema.max(24 * 90).default(12),
    /**
     * The proxies whose X-Forwarded-For/-Proto are believed (the panel's server, which proxies `/api`): addresses, CIDR
     * ranges, `loopback`, `private` or `none`. Everyone else is the client, whatever its headers say.
     */
    API_TRUSTED_PROXIES: trustedProxiesSchema.default('loopback'),
    /** The old name took `true` (trust every client's X-Forwarded-For): refused so a stale setting is not silently ignored. */
    API_TRUST_PROXY: z
      .undefined({ error: 'renamed to API_TRUSTED_PROXIES (addresses or CIDR ranges; "true" is no longer accepted)' })
      .optional(),
    /** Mark the session cookie Secure on every response, not only when the request came over HTTPS. */
    SESSION_COOKIE_SECURE: boolSchema.default(false),
    /** Largest request body accepted. */
    API_BODY_LIMIT_BYTES: positiveIntSchema.max(16 * 1024 * 1024).default(64 * 1024),
    /** Largest mailbox CSV import body (POST …/mailboxes/import); beyond it 413 PAYLOAD_TOO_LARGE. */
    API_IMPORT_MAX_BYTES: positiveIntSchema.max(256 * 1024 * 1024).default(8 * 1024 * 1024),
    /** Most mailbox rows one CSV import takes; beyond it 413 TOO_MANY_ROWS. */
    API_IMPORT_MAX_ROWS: positiveIntSchema.max(100_000).default(10_000),
    /** Login throttle delays up to this long are waited out; longer ones answer 429 THROTTLED with Retry-After. */
    LOGIN_THROTTLE_WAIT_MAX_MS: nonNegativeIntSchema.max(15_000).default(2_000),
    /** How long a verified API key is remembered in this process (0 disables); see plugins/auth.ts. */
    API_KEY_CACHE_MS: nonNegativeIntSchema.max(60_000).default(2_000),
    /** Pooled database connections of this API process (see README "Running at scale": connection budget). */
    API_DB_CONNECTIONS: positiveIntSchema.max(1000).default(10),
    /**
     * Where the API LISTENs for credential changes (one connection per process): PostgreSQL itself or a session-pooling
     * PgBouncer, never a transaction-pooling one. Unset = DATABASE_URL.
     */
    DATABASE_DIRECT_URL: baseEnvSchema.shape.DATABASE_URL,
    /** Serve /api/docs and /api/openapi.json. */
    API_DOCS: boolSchema.default(true),
    /** The operator's SMTP submission server, named in autoconfig answers and profiles (Mailroom offers none). */
    MAILROOM_SMTP_SUBMISSION_HOST: optionalStringSchema,
    MAILROOM_SMTP_SUBMISSION_PORT: portSchema.min(1).default(587),
    /** `starttls` (port 587) or `tls` (implicit TLS, port 465). */
    MAILROOM_SMTP_SUBMISSION_SECURITY: z.enum(['starttls', 'tls']).default('starttls'),
    /** Passkeys: the relying party ID (default: the panel's host; see resolveWebAuthn). */
    WEBAUTHN_RP_ID: optionalStringSchema,
    /** Passkeys: the panel's origin(s), comma-separated scheme://host[:port] (default https://<RP ID>). */
    WEBAUTHN_ORIGIN: optionalStringSchema,
    /** Passkeys: the name authenticators show for this service. */
    WEBAUTHN_RP_NAME: z.string().trim().min(1).max(100).default('Mailroom'),
    /** Passkeys: how long a registration or sign-in challenge may be answered. */
    WEBAUTHN_CHALLENGE_TTL_SECONDS: z.coerce.number().int().min(30).max(900).default(300),
    /** Who must sign in with a second factor: `off`, `admins`, or `all` (admins, owners and mailbox users). */
    MAILROOM_REQUIRE_2FA: z.enum(TWO_FACTOR_POLICIES).default('off'),
    /** The POP3 service's "app passwords only" default: read here to show mailboxes the policy POP3 applies. */
    ...pop3AppPasswordsEnvShape,
  })
  .superRefine((env, ctx) => {
    const r = resolveWebAuthn(env);
    if ('error' in r) ctx.addIssue({ code: 'custom', message: r.error, path: [r.error.split(':')[0]!] });
  });
export type ApiEnv = z.infer<typeof apiEnvSchema>;

export interface ApiConfig {
  passwordMinLength: number;
  sessionTtlMs: number;
  /** Whose X-Forwarded-For/-Proto count (see resolveClient in @mailroom/core/forwarded). */
  trustedProxies: TrustedProxies;
  /** Session cookie always Secure (else only when the original request was HTTPS). */
  sessionCookieSecure: boolean;
  bodyLimitBytes: number;
  /** Mailbox CSV imports: body bytes and rows at most (API_IMPORT_MAX_BYTES, API_IMPORT_MAX_ROWS). */
  importMaxBytes: number;
  importMaxRows: number;
  throttleSleepMaxMs: number;
  docs: boolean;
  apiKeyCacheMs: number;
  /** argon2id parameters and this process's argon2 queue limits (ARGON2_*). */
  argon2: Argon2Params & Argon2Limits;
  /** Public host name for connection settings and the OpenAPI server list. */
  publicHost: string;
  /** What mail clients are told: connection card, autoconfig, autodiscover, profiles. */
  client: ClientSettings;
  /** Domain verification and DNS guidance: record targets, claim lifetime, resolver (MAILROOM_DNS_*, DOMAIN_CLAIM_TTL_HOURS). */
  onboarding: DomainOnboardingConfig;
  /** WEBHOOK_ALLOW_PRIVATE: webhook URLs may point to internal addresses. */
  webhookAllowPrivate: boolean;
  /** Passkeys: relying party ID, origins, challenge lifetime (WEBAUTHN_*). */
  webauthn: WebAuthnConfig;
  /** MAILROOM_REQUIRE_2FA: who must have a second factor (users without one enrol at sign-in). */
  requireTwoFactor: TwoFactorPolicy;
  /** POP3_REQUIRE_APP_PASSWORDS, as the POP3 service has it: shown in a mailbox's app-password policy. */
  requireAppPasswordsDefault: boolean;
}

export function toApiConfig(env: ApiEnv): ApiConfig {
  return {
    passwordMinLength: env.PASSWORD_MIN_LENGTH,
    sessionTtlMs: env.SESSION_TTL_HOURS * 3_600_000,
    trustedProxies: parseTrustedProxies(env.API_TRUSTED_PROXIES, 'API_TRUSTED_PROXIES'),
    sessionCookieSecure: env.SESSION_COOKIE_SECURE,
    bodyLimitBytes: env.API_BODY_LIMIT_BYTES,
    importMaxBytes: env.API_IMPORT_MAX_BYTES,
    importMaxRows: env.API_IMPORT_MAX_ROWS,
    throttleSleepMaxMs: env.LOGIN_THROTTLE_WAIT_MAX_MS,
    docs: env.API_DOCS,
    apiKeyCacheMs: env.API_KEY_CACHE_MS,
    argon2: argon2Params(env),
    publicHost: env.MAILROOM_PUBLIC_HOST ?? env.MAILROOM_HOST,
    client: {
      host: env.MAILROOM_PUBLIC_HOST ?? env.MAILROOM_HOST,
      pop3Port: env.MAILROOM_PUBLIC_POP3_PORT,
      pop3sPort: env.MAILROOM_PUBLIC_POP3S_PORT,
      submission: env.MAILROOM_SMTP_SUBMISSION_HOST
        ? {
            host: env.MAILROOM_SMTP_SUBMISSION_HOST,
            port: env.MAILROOM_SMTP_SUBMISSION_PORT,
            security: env.MAILROOM_SMTP_SUBMISSION_SECURITY,
          }
        : null,
    },
    onboarding: domainOnboardingConfig(env),
    webhookAllowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
    webauthn: webauthnConfig(env),
    requireTwoFactor: env.MAILROOM_REQUIRE_2FA,
    requireAppPasswordsDefault: env.POP3_REQUIRE_APP_PASSWORDS,
  };
}

function webauthnConfig(env: ApiEnv): WebAuthnConfig {
  const r = resolveWebAuthn(env);
  if ('error' in r) throw new Error(r.error); // parseEnv refused it already
  return { ...r, rpName: env.WEBAUTHN_RP_NAME, challengeTtlMs: env.WEBAUTHN_CHALLENGE_TTL_SECONDS * 1000 };
}

/** Defaults for tests and tools: the parsed empty environment. */
export function defaultApiConfig(overrides: Partial<ApiConfig> = {}): ApiConfig {
  return { ...toApiConfig(parseEnv(apiEnvSchema, {})), ...overrides };
}
