import path from 'node:path';
import { z } from 'zod';

/** Thrown when the environment is invalid; `message` lists every bad variable. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

export const portSchema = z.coerce.number().int().min(0).max(65535);
/** "1"/"true"/"yes"/"on" and "0"/"false"/"no"/"off". */
export const boolSchema = z
  .union([z.boolean(), z.string().trim().toLowerCase()])
  .transform((v, ctx) => {
    if (typeof v === 'boolean') return v;
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
    ctx.addIssue({ code: 'custom', message: 'expected true/false' });
    return z.NEVER;
  });
export const positiveIntSchema = z.coerce.number().int().positive();
export const nonNegativeIntSchema = z.coerce.number().int().min(0);
/** An optional setting where an empty value means unset (as compose files pass `${VAR:-}`). */
export const optionalStringSchema = z.string().trim().min(1).optional().or(z.literal('').transform(() => undefined));

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
  MAILROOM_DATA_DIR: z.string().trim().min(1).default('./.mailroom').transform((v) => path.resolve(v)),
  MAILROOM_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** Public host name shown to users in connection settings (defaults to MAILROOM_HOST). */
  MAILROOM_PUBLIC_HOST: optionalStringSchema,
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
  /** Secret for keyed hashes (throttle fingerprints); generated into the data dir when unset. */
  MAILROOM_SECRET: optionalStringSchema,
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
