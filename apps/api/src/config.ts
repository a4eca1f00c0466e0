import { z } from 'zod';
import type { Argon2Limits, Argon2Params } from '@mailroom/core';
import { argon2Params, baseEnvSchema, parseEnv, positiveIntSchema, nonNegativeIntSchema, boolSchema } from '@mailroom/runtime';

/** The API's environment: parsed once in main.ts and passed down. */
export const apiEnvSchema = baseEnvSchema.extend({
  /** Minimum length of new passwords (users and mailboxes). */
  PASSWORD_MIN_LENGTH: z.coerce.number().int().min(6).max(128).default(10),
  /** Lifetime of a browser session. */
  SESSION_TTL_HOURS: positiveIntSchema.max(24 * 90).default(12),
  /**
   * Which proxies may set X-Forwarded-For/-Proto (the web panel's rewrite proxy runs on this host): true, false, or a
   * comma-separated list of addresses/CIDRs/`loopback`.
   */
  API_TRUST_PROXY: z.string().trim().default('loopback'),
  /** Largest request body accepted. */
  API_BODY_LIMIT_BYTES: positiveIntSchema.max(16 * 1024 * 1024).default(64 * 1024),
  /** Login throttle delays up to this long are waited out; longer ones answer 429 THROTTLED with Retry-After. */
  LOGIN_THROTTLE_WAIT_MAX_MS: nonNegativeIntSchema.max(15_000).default(2_000),
  /** How long a verified API key is remembered in this process (0 disables); see plugins/auth.ts. */
  API_KEY_CACHE_MS: nonNegativeIntSchema.max(60_000).default(2_000),
  /** Serve /api/docs and /api/openapi.json. */
  API_DOCS: boolSchema.default(true),
});
export type ApiEnv = z.infer<typeof apiEnvSchema>;

export interface ApiConfig {
  passwordMinLength: number;
  sessionTtlMs: number;
  trustProxy: boolean | string[];
  bodyLimitBytes: number;
  throttleSleepMaxMs: number;
  docs: boolean;
  apiKeyCacheMs: number;
  /** argon2id parameters and this process's argon2 queue limits (ARGON2_*). */
  argon2: Argon2Params & Argon2Limits;
  /** Public host name for connection settings and the OpenAPI server list. */
  publicHost: string;
}

export function parseTrustProxy(v: string): boolean | string[] {
  const lower = v.toLowerCase();
  if (['true', '1', 'yes'].includes(lower)) return true;
  if (['false', '0', 'no', ''].includes(lower)) return false;
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

export function toApiConfig(env: ApiEnv): ApiConfig {
  return {
    passwordMinLength: env.PASSWORD_MIN_LENGTH,
    sessionTtlMs: env.SESSION_TTL_HOURS * 3_600_000,
    trustProxy: parseTrustProxy(env.API_TRUST_PROXY),
    bodyLimitBytes: env.API_BODY_LIMIT_BYTES,
    throttleSleepMaxMs: env.LOGIN_THROTTLE_WAIT_MAX_MS,
    docs: env.API_DOCS,
    apiKeyCacheMs: env.API_KEY_CACHE_MS,
    argon2: argon2Params(env),
    publicHost: env.MAILROOM_PUBLIC_HOST ?? env.MAILROOM_HOST,
  };
}

/** Defaults for tests and tools: the parsed empty environment. */
export function defaultApiConfig(overrides: Partial<ApiConfig> = {}): ApiConfig {
  return { ...toApiConfig(parseEnv(apiEnvSchema, {})), ...overrides };
}
