import {
  baseEnvSchema,
  domainOnboardingConfig,
  parseEnv,
  portSchema,
  positiveIntSchema,
  retentionDaysEnvSchema,
  type DomainOnboardingConfig,
} from '@mailroom/runtime';
import cronParser from 'cron-parser';
import { DEFAULT_DELIVERY_LOG_RETENTION_DAYS, DEFAULT_SIGN_IN_LOG_RETENTION_DAYS } from '@mailroom/core';
import { z } from 'zod';

/** The scheduled jobs; each is a pg-boss queue of the same name. */
export const JOB_NAMES = ['domains.recheck', 'domains.prune-claims', 'messages.expire', 'delivery-log.prune', 'sign-in-log.prune'] as const;
export type JobName = (typeof JOB_NAMES)[number];

/**
 * A five-field cron expression (minute hour day-of-month month day-of-week, UTC), checked with the parser pg-boss uses.
 * pg-boss fires at most once a minute, so a seconds field is refused rather than silently ignored.
 */
export const cronSchema = z
  .string()
  .trim()
  .superRefine((v, ctx) => {
    if (v.split(/\s+/).length !== 5) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a five-field cron expression like "0 */6 * * *" (minute hour day month weekday, UTC)',
      });
      return;
    }
    try {
      cronParser.parseExpression(v, { tz: 'UTC' });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `is not a valid cron expression: ${(err as Error).message.slice(0, 100)}` });
    }
  });

/** The worker process environment: the shared base plus schedules and batch sizes. */
export const workerEnvSchema = baseEnvSchema.extend({
  WORKER_METRICS_PORT: portSchema.default(9103),
  /** When to re-check the MX of active domains (cron, UTC). */
  WORKER_DNS_RECHECK_CRON: cronSchema.default('0 */6 * * *'),
  /** A run skips domains checked within this many hours (by the CLI, or by a run that was interrupted); 0 = none. */
  WORKER_DNS_RECHECK_MIN_AGE_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 30)
    .default(1),
  /** Domains resolved per batch (one query of the database per batch); a run goes on until every due domain is done. */
  WORKER_DNS_RECHECK_BATCH: positiveIntSchema.max(10_000).default(100),
  /** When to delete expired pending domain claims (cron, UTC). */
  WORKER_PRUNE_CLAIMS_CRON: cronSchema.default('0 * * * *'),
  /** When to delete messages past their POP3 retention (RFC 2449 EXPIRE n; cron, UTC). */
  WORKER_RETENTION_CRON: cronSchema.default('30 * * * *'),
  /** Mailboxes looked up per query by the retention job (each is then done in its own transaction). */
  WORKER_RETENTION_BATCH: positiveIntSchema.max(10_000).default(500),
  /** The operator's default retention, shared with the POP3 service: never, 0 (deleted once retrieved) or days. */
  POP3_EXPIRE_DAYS: retentionDaysEnvSchema,
  /** Days delivery log entries are kept; older ones are deleted by the delivery-log.prune job. */
  DELIVERY_LOG_RETENTION_DAYS: positiveIntSchema.max(3650).default(30),
  /** When to delete delivery log entries past DELIVERY_LOG_RETENTION_DAYS (cron, UTC). */
  WORKER_PRUNE_DELIVERY_LOG_CRON: cronSchema.default('15 * * * *'),
  /** Days sign-ins (mailboxes' POP3 and panel ones, panel users') are kept; older ones are deleted by the sign-in-log.prune job. */
  SIGN_IN_LOG_RETENTION_DAYS: positiveIntSchema.max(3650).default(DEFAULT_SIGN_IN_LOG_RETENTION_DAYS),
  /** When to delete sign-ins past SIGN_IN_LOG_RETENTION_DAYS (cron, UTC). */
  WORKER_PRUNE_SIGN_IN_LOG_CRON: cronSchema.default('45 * * * *'),
  /** Database connections of the worker (shared by the job queue and the jobs). */
  WORKER_DB_CONNECTIONS: positiveIntSchema.min(2).max(50).default(4),
  /** How often the webhook dispatcher looks for new outbox events and redelivery requests. */
  WEBHOOK_DISPATCH_INTERVAL_MS: positiveIntSchema.min(100).max(60_000).default(1_000),
  /** One delivery attempt (connect, send, response headers and body) is abandoned after this long. */
  WEBHOOK_TIMEOUT_SECONDS: positiveIntSchema.max(60).default(10),
  /** Retries after the first attempt, with exponential backoff (see README: about a day with the defaults). */
  WEBHOOK_RETRY_LIMIT: z.coerce.number().int().min(0).max(20).default(10),
  /** Base delay of the backoff: retry n waits between delay * 2^(n-1) and delay * 2^n seconds. */
  WEBHOOK_RETRY_DELAY_SECONDS: positiveIntSchema.max(3_600).default(60),
  /** An endpoint is disabled when its last N attempts all failed… */
  WEBHOOK_DISABLE_AFTER_FAILURES: positiveIntSchema.max(10_000).default(10),
  /** …and it has failed without a success for at least this many hours (0 = at once after N failures). */
  WEBHOOK_DISABLE_AFTER_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 30)
    .default(24),
  /** Deliveries one worker process sends at once. */
  WEBHOOK_CONCURRENCY: positiveIntSchema.max(64).default(4),
});
export type WorkerEnv = z.infer<typeof workerEnvSchema>;

/** What {@link createWorker} needs; built from the environment by {@link workerConfigFromEnv} or directly by tests. */
export interface WorkerConfig {
  /** Bind address and port of /healthz, /readyz, /metrics; port null = no HTTP listener. */
  metricsHost: string;
  metricsPort: number | null;
  /** Cron expression (UTC) per job; pg-boss stores them, so every replica agrees on the last one started. */
  schedules: Record<JobName, string>;
  recheck: { batchSize: number; minAgeHours: number };
  /** The retention job: operator default (POP3_EXPIRE_DAYS, null = NEVER) and mailboxes per query. */
  retention: { defaultRetentionDays: number | null; batchSize: number };
  /** Days delivery log entries are kept (DELIVERY_LOG_RETENTION_DAYS). */
  deliveryLogRetentionDays: number;
  /** Days sign-ins are kept (SIGN_IN_LOG_RETENTION_DAYS). */
  signInLogRetentionDays: number;
  onboarding: Pick<DomainOnboardingConfig, 'mxHosts' | 'mtaStsMaxAgeSeconds' | 'dns'>;
  /** Connections of pg-boss's own pool (the jobs use the Prisma client given to the worker). */
  queueConnections: number;
  /** How often an idle worker asks the queue for a job, and how often the schedules are evaluated (pg-boss minimums: 0.5 s, 1 s). */
  pollingIntervalSeconds: number;
  cronMonitorIntervalSeconds: number;
  webhooks: WebhookDeliveryConfig;
}

/** Webhook delivery settings (WEBHOOK_*). */
export interface WebhookDeliveryConfig {
  allowPrivate: boolean;
  dispatchIntervalMs: number;
  timeoutMs: number;
  retryLimit: number;
  retryDelaySeconds: number;
  disableAfterFailures: number;
  disableAfterHours: number;
  concurrency: number;
}

export const DEFAULT_WORKER_CONFIG: Omit<WorkerConfig, 'onboarding'> = {
  metricsHost: '127.0.0.1',
  metricsPort: 9103,
  schedules: {
    'domains.recheck': '0 */6 * * *',
    'domains.prune-claims': '0 * * * *',
    'messages.expire': '30 * * * *',
    'delivery-log.prune': '15 * * * *',
    'sign-in-log.prune': '45 * * * *',
  },
  recheck: { batchSize: 100, minAgeHours: 1 },
  retention: { defaultRetentionDays: null, batchSize: 500 },
  deliveryLogRetentionDays: DEFAULT_DELIVERY_LOG_RETENTION_DAYS,
  signInLogRetentionDays: DEFAULT_SIGN_IN_LOG_RETENTION_DAYS,
  queueConnections: 2,
  pollingIntervalSeconds: 2,
  cronMonitorIntervalSeconds: 30,
  webhooks: {
    allowPrivate: false,
    dispatchIntervalMs: 1_000,
    timeoutMs: 10_000,
    retryLimit: 10,
    retryDelaySeconds: 60,
    disableAfterFailures: 10,
    disableAfterHours: 24,
    concurrency: 4,
  },
};

export function loadWorkerEnv(env: NodeJS.ProcessEnv = process.env): WorkerEnv {
  return parseEnv(workerEnvSchema, env);
}

export function workerConfigFromEnv(env: WorkerEnv): WorkerConfig {
  const onboarding = domainOnboardingConfig(env);
  return {
    ...DEFAULT_WORKER_CONFIG,
    metricsHost: env.METRICS_HOST,
    metricsPort: env.WORKER_METRICS_PORT,
    schedules: {
      'domains.recheck': env.WORKER_DNS_RECHECK_CRON,
      'domains.prune-claims': env.WORKER_PRUNE_CLAIMS_CRON,
      'messages.expire': env.WORKER_RETENTION_CRON,
      'delivery-log.prune': env.WORKER_PRUNE_DELIVERY_LOG_CRON,
      'sign-in-log.prune': env.WORKER_PRUNE_SIGN_IN_LOG_CRON,
    },
    deliveryLogRetentionDays: env.DELIVERY_LOG_RETENTION_DAYS,
    signInLogRetentionDays: env.SIGN_IN_LOG_RETENTION_DAYS,
    recheck: { batchSize: env.WORKER_DNS_RECHECK_BATCH, minAgeHours: env.WORKER_DNS_RECHECK_MIN_AGE_HOURS },
    retention: { defaultRetentionDays: env.POP3_EXPIRE_DAYS, batchSize: env.WORKER_RETENTION_BATCH },
    onboarding: { mxHosts: onboarding.mxHosts, mtaStsMaxAgeSeconds: onboarding.mtaStsMaxAgeSeconds, dns: onboarding.dns },
    // half the connections for pg-boss (fetching, maintenance, schedules), the rest for the jobs' Prisma client
    queueConnections: Math.max(1, Math.floor(env.WORKER_DB_CONNECTIONS / 2)),
    webhooks: {
      allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
      dispatchIntervalMs: env.WEBHOOK_DISPATCH_INTERVAL_MS,
      timeoutMs: env.WEBHOOK_TIMEOUT_SECONDS * 1_000,
      retryLimit: env.WEBHOOK_RETRY_LIMIT,
      retryDelaySeconds: env.WEBHOOK_RETRY_DELAY_SECONDS,
      disableAfterFailures: env.WEBHOOK_DISABLE_AFTER_FAILURES,
      disableAfterHours: env.WEBHOOK_DISABLE_AFTER_HOURS,
      concurrency: env.WEBHOOK_CONCURRENCY,
    },
  };
}
