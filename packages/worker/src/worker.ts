import { createDnsLookup, isSerializationFailure, type DnsLookup } from '@mailroom/core';
import { createPgPool, type PrismaClient } from '@mailroom/db';
import { createOpsServer, type OpsServer } from '@mailroom/runtime';
import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import { JOB_NAMES, type JobName, type WorkerConfig } from './config.ts';
import { JOBS, type JobContext } from './jobs.ts';
import { createWorkerMetrics, type WorkerMetrics } from './metrics.ts';
import { DELIVER_QUEUE, deliverWebhook, dispatchWebhooks } from './webhooks.ts';

/** The PostgreSQL schema pg-boss keeps its queues, jobs and schedules in (created and migrated by pg-boss at start). */
export const QUEUE_SCHEMA = 'pgboss';
/** Tries of the queue setup at start when PostgreSQL picks one of its statements as a deadlock's victim. */
const QUEUE_SETUP_ATTEMPTS = 3;

export interface WorkerDeps {
  prisma: PrismaClient;
  logger: Logger;
  /** The database pg-boss connects to with its own small pool (the same database as `prisma`). */
  databaseUrl: string;
  config: WorkerConfig;
  /** Default: a resolver on config.onboarding.dns. */
  dns?: DnsLookup;
  /** Server secret (MAILROOM_SECRET or the data dir's secret.key): decrypts webhook signing secrets. */
  secret: string;
  /** Resolver of webhook hosts at connection time (default: the system's). */
  webhookLookup?: (host: string) => Promise<string[]>;
}

export interface Worker {
  readonly config: WorkerConfig;
  readonly metrics: WorkerMetrics;
  /** Starts the queue (installing or migrating its schema), the schedules, the job handlers and the ops listener. */
  start(): Promise<{ metrics: number | null }>;
  /** Stops fetching jobs, lets a running job reach its next safe point, closes the queue and the listener. */
  stop(): Promise<void>;
  /**
   * Puts one run of `name` on the queue now, as the schedule would (any worker of the database may take it). Resolves
   * with the job id, or null when a run of it is already waiting.
   */
  runNow(name: JobName): Promise<string | null>;
  /** A job's state and output (archived jobs included), for operators and tests. */
  getJob(name: JobName, id: string): Promise<PgBoss.JobWithMetadata | null>;
}

/** The background worker: scheduled jobs on a pg-boss queue in PostgreSQL. Unstarted; see {@link Worker.start}. */
export function createWorker(deps: WorkerDeps): Worker {
  const { config, logger, prisma } = deps;
  const metrics = createWorkerMetrics();
  const dns = deps.dns ?? createDnsLookup(config.onboarding.dns);
  const boss = new PgBoss({
    connectionString: deps.databaseUrl,
    schema: QUEUE_SCHEMA,
    max: config.queueConnections,
    application_name: 'mailroom-worker',
    cronMonitorIntervalSeconds: config.cronMonitorIntervalSeconds,
    cronWorkerIntervalSeconds: Math.min(5, config.cronMonitorIntervalSeconds),
  });
  boss.on('error', (err) => logger.error({ err: err.message }, 'job queue error'));
  let state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  const ctx: JobContext = { prisma, dns, config, metrics, logger, stopping: () => state === 'stopping' || state === 'stopped' };
  const ops: OpsServer | null =
    config.metricsPort === null
      ? null
      : createOpsServer({
          host: config.metricsHost,
          port: config.metricsPort,
          metrics: metrics.registry,
          ready: async () => {
            if (state !== 'running') return false;
            await prisma.$queryRaw`SELECT 1`;
            return true;
          },
        });

  // The webhook dispatcher polls the outbox on its own connection (it holds a transaction across pg-boss inserts).
  const dispatchPool = createPgPool(deps.databaseUrl, { maxConnections: 1, applicationName: 'mailroom-worker-dispatch' });
  dispatchPool.on('error', (err) => logger.error({ err: err.message }, 'webhook dispatcher connection error'));
  let dispatchTimer: NodeJS.Timeout | undefined;
  let dispatching: Promise<void> = Promise.resolve();
  const webhookDeps = {
    prisma,
    logger,
    metrics,
    config: config.webhooks,
    secret: deps.secret,
    ...(deps.webhookLookup ? { lookup: deps.webhookLookup } : {}),
  };
  function scheduleDispatch(): void {
    dispatchTimer = setTimeout(() => {
      dispatching = dispatchWebhooks(dispatchPool, boss, config.webhooks)
        .then((r) => {
          if (r.events || r.redeliveries) logger.info(r, 'webhook events dispatched');
        })
        .catch((err: Error) => logger.error({ err: err.message }, 'webhook dispatch failed (retried next round)'))
        .finally(() => {
          if (state === 'running' || state === 'starting') scheduleDispatch();
        });
    }, config.webhooks.dispatchIntervalMs);
  }

  async function runJob(name: JobName, job: PgBoss.Job<unknown>): Promise<object> {
    const end = metrics.jobSeconds.startTimer({ job: name });
    try {
      const summary = await JOBS[name].run(ctx);
      metrics.jobs.inc({ job: name, result: 'completed' });
      metrics.lastSuccess.set({ job: name }, Date.now() / 1000);
      logger.info({ job: name, jobId: job.id, ...summary, seconds: Number(end().toFixed(3)) }, 'job completed');
      return summary;
    } catch (err) {
      end();
      metrics.jobs.inc({ job: name, result: 'failed' });
      logger.error({ job: name, jobId: job.id, err: (err as Error).message }, 'job failed (pg-boss retries it)');
      throw err;
    }
  }

  return {
    config,
    metrics,
    async start() {
      if (state !== 'new') throw new Error('worker already started');
      state = 'starting';
      await boss.start();
      // Replicas starting together would deadlock creating the same queue partitions: one sets up at a time, holding a
      // transaction-scoped advisory lock on a Prisma connection while pg-boss works on its own pool. Every queue is
      // created under it, the webhook deliveries' too. A queue's creation adds foreign keys to pgboss.queue and attaches
      // a partition of pgboss.job, so it can still deadlock with another replica's pg-boss housekeeping on those tables,
      // which no lock of ours covers: PostgreSQL then rolls back the losing statement (a queue's creation is one
      // statement, all or nothing), and the setup, idempotent, runs again.
      const setUpQueues = () =>
        prisma.$transaction(
          async (tx) => {
            await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('mailroom.worker.queue-setup'))`;
            for (const name of JOB_NAMES) {
              const options = { name, ...JOBS[name].queue };
              await boss.createQueue(name, options);
              await boss.updateQueue(name, options);
              // stored in the queue's schema: the last replica to start decides; pg-boss fires each slot once across replicas
              await boss.schedule(name, config.schedules[name], {}, { tz: 'UTC' });
            }
            await boss.createQueue(DELIVER_QUEUE, { name: DELIVER_QUEUE, policy: 'standard' });
          },
          { maxWait: 30_000, timeout: 60_000 },
        );
      for (let attempt = 1; ; attempt++) {
        try {
          await setUpQueues();
          break;
        } catch (err) {
          if (!isSerializationFailure(err) || attempt >= QUEUE_SETUP_ATTEMPTS) throw err;
          logger.warn({ attempt, err: (err as Error).message }, 'queue setup deadlocked with another replica: trying again');
        }
      }
      for (let i = 0; i < config.webhooks.concurrency; i++) {
        await boss.work<{ deliveryId: string }>(
          DELIVER_QUEUE,
          { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: config.pollingIntervalSeconds },
          async ([job]) => {
            if (!job) return;
            const out = await deliverWebhook(webhookDeps, job.data.deliveryId, job);
            metrics.jobs.inc({ job: DELIVER_QUEUE, result: 'completed' });
            return out;
          },
        );
      }
      scheduleDispatch();
      for (const name of JOB_NAMES) {
        await boss.work(
          name,
          { batchSize: 1, pollingIntervalSeconds: config.pollingIntervalSeconds },
          async ([job]) => job && runJob(name, job),
        );
      }
      const port = ops ? await ops.listen() : null;
      state = 'running';
      return { metrics: port };
    },
    async stop() {
      if (state === 'stopped' || state === 'stopping') return;
      const started = state !== 'new';
      state = 'stopping';
      clearTimeout(dispatchTimer);
      await dispatching;
      if (started) await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
      await dispatchPool.end();
      await ops?.close();
      state = 'stopped';
    },
    runNow: (name) => boss.send(name, { trigger: 'manual' }),
    getJob: (name, id) => boss.getJobById(name, id, { includeArchive: true }),
  };
}
