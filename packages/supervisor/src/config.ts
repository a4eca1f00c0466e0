import { z } from 'zod';
import { baseEnvSchema, optionalStringSchema, parseEnv, portSchema, positiveIntSchema } from '@mailroom/runtime';

/** The services `npm start` runs, in start order. */
export const SERVICE_NAMES = ['api', 'pop3', 'ingress', 'worker', 'web'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

const serviceListSchema = z
  .string()
  .trim()
  .default('')
  .transform((v, ctx): ServiceName[] => {
    const names = v
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean);
    const unknown = names.filter((n) => !(SERVICE_NAMES as readonly string[]).includes(n));
    if (unknown.length) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown service ${unknown.map((n) => `"${n.slice(0, 20)}"`).join(', ')}; expected some of ${SERVICE_NAMES.join(', ')}`,
      });
      return z.NEVER;
    }
    return names.length ? SERVICE_NAMES.filter((n) => names.includes(n)) : [...SERVICE_NAMES];
  });

/** `npm start`'s environment: the shared settings, the first admin, and how the supervisor restarts services. */
export const supervisorEnvSchema = baseEnvSchema.extend({
  MAILROOM_ADMIN_EMAIL: z.string().trim().email().default('admin@localhost.localdomain'),
  MAILROOM_ADMIN_PASSWORD: optionalStringSchema,
  /** Port of the embedded PostgreSQL (0 = remembered from the last run, else a free one). */
  MAILROOM_PG_PORT: portSchema.default(0),
  POP3_METRICS_PORT: portSchema.default(9101),
  INGRESS_METRICS_PORT: portSchema.default(9102),
  WORKER_METRICS_PORT: portSchema.default(9103),
  /** The supervisor's own /healthz, /readyz, /metrics (restart counters), on METRICS_HOST; 0 = a free port. */
  SUPERVISOR_METRICS_PORT: portSchema.default(9104),
  /** Service logs: `pretty` (prefixed, human-readable), `json` (one JSON object per line), `auto` = pretty on a terminal. */
  LOG_FORMAT: z.preprocess(
    (v) => (typeof v === 'string' ? v.trim().toLowerCase() || undefined : v),
    z.enum(['auto', 'json', 'pretty']).default('auto'),
  ),
  /** Delay before restarting a service that exited; doubled per further crash up to SUPERVISOR_BACKOFF_MAX_MS. */
  SUPERVISOR_BACKOFF_MIN_MS: positiveIntSchema.max(600_000).default(500),
  SUPERVISOR_BACKOFF_MAX_MS: positiveIntSchema.max(3_600_000).default(30_000),
  /** A service that ran this long before exiting is restarted after SUPERVISOR_BACKOFF_MIN_MS again. */
  SUPERVISOR_STABLE_AFTER_MS: positiveIntSchema.default(60_000),
  /** This many crashes of one service (or of the embedded PostgreSQL) within SUPERVISOR_CRASH_LOOP_WINDOW_MS stop the stack. */
  SUPERVISOR_CRASH_LOOP_RESTARTS: positiveIntSchema.max(1000).default(5),
  SUPERVISOR_CRASH_LOOP_WINDOW_MS: positiveIntSchema.default(60_000),
  /** Comma-separated subset of the services to run (e.g. `api,web`); empty = all. */
  SUPERVISOR_SERVICES: serviceListSchema,
  /** Every service must answer its /readyz within this long after `npm start`, or the start fails. */
  SUPERVISOR_READY_TIMEOUT_MS: positiveIntSchema.default(180_000),
});
export type SupervisorEnv = z.infer<typeof supervisorEnvSchema>;

export function parseSupervisorEnv(env: NodeJS.ProcessEnv = process.env): SupervisorEnv {
  const parsed = parseEnv(supervisorEnvSchema, env);
  if (parsed.SUPERVISOR_BACKOFF_MAX_MS < parsed.SUPERVISOR_BACKOFF_MIN_MS)
    parsed.SUPERVISOR_BACKOFF_MAX_MS = parsed.SUPERVISOR_BACKOFF_MIN_MS;
  return parsed;
}
