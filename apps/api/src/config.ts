import { z } from 'zod';
import { TWO_FACTOR_POLICIES, type Argon2Limits, type Argon2Params, type TwoFactorPolicy } from '@mailroom/core';
import type { ClientSettings } from '@mailroom/core/schemas';
import { parseTrustedProxies, type TrustedProxies } from '@mailroom/core/forwarded';
import {
  argon2Params, baseEnvSchema, domainOnboardingConfig, parseEnv, positiveIntSchema, nonNegativeIntSchema, boolSchema, optionalStringSchema, portSchema,
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

/** The API's environment: parsed once in main.ts and passed down. */
export const apiEnvSchema = baseEnvSchema.extend({
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
  API_TRUST_PROXY: z.undefined({ error: 'renamed to API_TRUSTED_PROXIES (addresses or CIDR ranges; "true" is no longer accepted)' }).optional(),
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
  /** Serve /api/docs and /api/openapi.json. */
  API_DOCS: boolSchema.default(true),
  /** The operator's SMTP submission server, named in autoconfig answers and profiles (Mailroom offers none). */
  MAILROOM_SMTP_SUBMISSION_HOST: optionalStringSchema,
  MAILROOM_SMTP_SUBMISSION_PORT: portSchema.min(1).default(587),
  /** `starttls` (port 587) or `tls` (implicit TLS, port 465). */
  MAILROOM_SMTP_SUBMISSION_SECURITY: z.enum(['starttls', 'tls']).default('starttls'),
  /** Who must sign in with a second factor: `off`, `admins`, or `all` (admins, owners and mailbox users). */
  MAILROOM_REQUIRE_2FA: z.enum(TWO_FACTOR_POLICIES).default('off'),
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
  /** MAILROOM_REQUIRE_2FA: who must have a second factor (users without one enrol at sign-in). */
  requireTwoFactor: TwoFactorPolicy;
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
        ? { host: env.MAILROOM_SMTP_SUBMISSION_HOST, port: env.MAILROOM_SMTP_SUBMISSION_PORT, security: env.MAILROOM_SMTP_SUBMISSION_SECURITY }
        : null,
    },
    onboarding: domainOnboardingConfig(env),
    webhookAllowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
    requireTwoFactor: env.MAILROOM_REQUIRE_2FA,
  };
}

/** Defaults for tests and tools: the parsed empty environment. */
export function defaultApiConfig(overrides: Partial<ApiConfig> = {}): ApiConfig {
  return { ...toApiConfig(parseEnv(apiEnvSchema, {})), ...overrides };
}
