import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import {
  AppError,
  blockedAddressReason,
  decryptWebhookSecret,
  guardedLookup,
  recordAudit,
  signWebhook,
  urlHostname,
  webhookPayload,
} from '@mailroom/core';
import { newId, type PrismaClient } from '@mailroom/db';
import type { Logger } from 'pino';
import pg from 'pg';
import type PgBoss from 'pg-boss';
import type { WebhookDeliveryConfig } from './config.ts';
import type { WorkerMetrics } from './metrics.ts';

/** The pg-boss queue of delivery attempts: one job per delivery, retried by pg-boss with exponential backoff. */
export const DELIVER_QUEUE = 'webhooks.deliver';
/** Stored start of a receiver's response body. */
export const RESPONSE_BODY_MAX_BYTES = 1_024;
/** Outbox events (and redelivery requests) one dispatcher pass takes. */
const DISPATCH_BATCH = 100;

export interface WebhookDeps {
  prisma: PrismaClient;
  logger: Logger;
  config: WebhookDeliveryConfig;
  metrics: WorkerMetrics;
  /** Server secret: decrypts the endpoints' signing secrets. */
  secret: string;
  /** Resolver of the connection-time check (default: the system's); tests point it at a rebinding DNS server. */
  lookup?: (host: string) => Promise<string[]>;
}

export interface AttemptResult {
  statusCode: number | null;
  error: string | null;
  responseBody: string | null;
  durationMs: number;
}

/** pg-boss `db` option: runs its INSERT on our transaction's connection, so the job exists exactly when the tx commits. */
function txDb(client: pg.PoolClient) {
  return { executeSql: (text: string, values?: unknown[]) => client.query(text, values) };
}

/** pg-boss send options of a delivery job: the retry schedule of the README (WEBHOOK_RETRY_*). */
export function deliverJobOptions(config: WebhookDeliveryConfig): PgBoss.SendOptions {
  return {
    retryLimit: config.retryLimit,
    retryDelay: config.retryDelaySeconds,
    retryBackoff: true,
    // an attempt that outlives its timeout by far was lost with its worker: pg-boss hands the job out again
    expireInSeconds: Math.ceil(config.timeoutMs / 1_000) * 3 + 30,
  };
}

/**
 * The dispatcher: turns outbox events into one delivery per matching endpoint (owners' endpoints get their own
 * tenant's events, administrators' every event) and queues a delivery job for each, and queues manual redeliveries.
 * Rows are taken FOR UPDATE SKIP LOCKED and the jobs inserted in the same transaction, so concurrent workers never
 * dispatch an event twice and a crash never loses one.
 */
export async function dispatchWebhooks(
  pool: pg.Pool,
  boss: PgBoss,
  config: WebhookDeliveryConfig,
): Promise<{ events: number; deliveries: number; redeliveries: number }> {
  // PostgreSQL restarting mid-transaction fails this round, not the process: the pool (createPgPool) listens to its clients
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const events = await client.query<{ id: string }>(
      `SELECT id FROM webhook_events WHERE dispatched_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [DISPATCH_BATCH],
    );
    let deliveries: { id: string }[] = [];
    if (events.rows.length) {
      const ids = events.rows.map((r) => r.id);
      const pairs = await client.query<{ endpoint_id: string; event_id: string }>(
        `SELECT ep.id AS endpoint_id, ev.id AS event_id
         FROM webhook_events ev
         JOIN webhook_endpoints ep ON ep.enabled AND ev.type = ANY (ep.event_types)
         JOIN users u ON u.id = ep.user_id
         WHERE ev.id = ANY ($1::uuid[]) AND (u.role = 'ADMIN' OR ep.user_id = ev.owner_id)
         ORDER BY ev.id, ep.id`,
        [ids],
      );
      const inserted = await client.query<{ id: string }>(
        `INSERT INTO webhook_deliveries (id, endpoint_id, event_id)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[])
         ON CONFLICT (endpoint_id, event_id) DO NOTHING
         RETURNING id`,
        [pairs.rows.map(() => newId()), pairs.rows.map((p) => p.endpoint_id), pairs.rows.map((p) => p.event_id)],
      );
      deliveries = inserted.rows;
      await client.query(`UPDATE webhook_events SET dispatched_at = now() WHERE id = ANY ($1::uuid[])`, [ids]);
    }
    const redeliver = await client.query<{ id: string }>(
      `UPDATE webhook_deliveries SET redeliver_requested_at = NULL
       WHERE id IN (SELECT id FROM webhook_deliveries WHERE redeliver_requested_at IS NOT NULL
                    ORDER BY redeliver_requested_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [DISPATCH_BATCH],
    );
    const options = { ...deliverJobOptions(config), db: txDb(client) };
    for (const d of [...deliveries, ...redeliver.rows]) await boss.send(DELIVER_QUEUE, { deliveryId: d.id }, options);
    await client.query('COMMIT');
    return { events: events.rows.length, deliveries: deliveries.length, redeliveries: redeliver.rows.length };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * One HTTP POST: connects only to an address it checked (the agent's lookup resolves once and refuses internal
 * addresses unless allowed), follows no redirect, gives up after the timeout, keeps the start of the body.
 */
export async function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: { allowPrivate: boolean; timeoutMs: number; lookup?: ((host: string) => Promise<string[]>) | undefined },
): Promise<AttemptResult> {
  const started = Date.now();
  const done = (r: Omit<AttemptResult, 'durationMs'>): AttemptResult => ({ ...r, durationMs: Date.now() - started });
  const u = new URL(url);
  const host = urlHostname(u);
  if (isIP(host) && !opts.allowPrivate) {
    const why = blockedAddressReason(host);
    if (why) return done({ statusCode: null, error: `refused: ${why} address ${host}`, responseBody: null });
  }
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: Omit<AttemptResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(done(r));
    };
    const req = lib.request(
      u,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'Mailroom-Webhooks/1',
        },
        lookup: guardedLookup({ allowPrivate: opts.allowPrivate, ...(opts.lookup ? { lookup: opts.lookup } : {}) }),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < RESPONSE_BODY_MAX_BYTES) chunks.push(c.subarray(0, RESPONSE_BODY_MAX_BYTES - size));
          size += c.length;
        });
        res.on('end', () =>
          finish({ statusCode: res.statusCode ?? null, error: null, responseBody: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', (err) =>
          finish({ statusCode: res.statusCode ?? null, error: err.message, responseBody: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    const timer = setTimeout(() => {
      finish({ statusCode: null, error: `timed out after ${opts.timeoutMs} ms`, responseBody: null });
      req.destroy();
    }, opts.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      const forbidden = err.code === 'WEBHOOK_URL_FORBIDDEN';
      finish({ statusCode: null, error: forbidden ? `refused: ${err.message}` : err.message.slice(0, 300), responseBody: null });
    });
    req.end(body);
  });
}

const SYSTEM_WEBHOOKS = { principal: { kind: 'system' as const, label: 'webhooks' } };

/**
 * One attempt of a delivery job. The delivery row is leased first (locked_until), so a second job of the same delivery
 * (a manual redelivery racing a retry) does not send it at the same time. Returns whether the job is finished; a
 * failed attempt throws afterwards so pg-boss schedules the next retry, until the last one.
 */
export async function deliverWebhook(
  deps: WebhookDeps,
  deliveryId: string,
  job: { retryCount: number; retryLimit: number },
): Promise<Record<string, number | string | boolean>> {
  const { prisma, config } = deps;
  const leaseMs = config.timeoutMs + 30_000;
  const leased = await prisma.$executeRaw`
    UPDATE webhook_deliveries SET locked_until = now() + ${leaseMs} * interval '1 millisecond'
    WHERE id = ${deliveryId}::uuid AND status = 'pending' AND (locked_until IS NULL OR locked_until < now())`;
  if (leased === 0) return { skipped: 'not pending or held by another attempt' };
  const d = await prisma.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId }, include: { endpoint: true, event: true } });
  if (!d.endpoint.enabled) {
    await prisma.webhookDelivery.update({ where: { id: deliveryId }, data: { status: 'failed', lockedUntil: null } });
    return { skipped: 'endpoint disabled' };
  }
  const body = webhookPayload(d.event);
  const timestamp = Math.floor(Date.now() / 1_000);
  let result: AttemptResult;
  try {
    const signingSecret = decryptWebhookSecret(d.endpoint.secretEncrypted, deps.secret);
    const headers = {
      'webhook-id': d.eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(signingSecret, d.eventId, timestamp, body),
    };
    result = await postWebhook(d.endpoint.url, headers, body, {
      allowPrivate: config.allowPrivate,
      timeoutMs: config.timeoutMs,
      lookup: deps.lookup,
    });
  } catch (err) {
    result = { statusCode: null, error: `not sent: ${(err as Error).message}`, responseBody: null, durationMs: 0 };
  }
  const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
  deps.metrics.webhookAttempts.inc({ result: ok ? 'delivered' : result.error?.startsWith('refused') ? 'refused' : 'failed' });
  const last = job.retryCount >= job.retryLimit;
  const disabled = await prisma.$transaction(async (tx) => {
    await tx.webhookAttempt.create({
      data: {
        deliveryId,
        durationMs: result.durationMs,
        statusCode: result.statusCode,
        error: result.error,
        responseBody: result.responseBody,
      },
    });
    await tx.webhookDelivery.update({
      where: { id: deliveryId },
      data: {
        attemptCount: { increment: 1 },
        lastStatusCode: result.statusCode,
        lastAttemptAt: new Date(),
        status: ok ? 'succeeded' : last ? 'failed' : 'pending',
        lockedUntil: null,
      },
    });
    if (ok) {
      await tx.webhookEndpoint.update({ where: { id: d.endpointId }, data: { consecutiveFailures: 0, failingSince: null } });
      return false;
    }
    const ep = await tx.webhookEndpoint.update({
      where: { id: d.endpointId },
      data: { consecutiveFailures: { increment: 1 }, failingSince: d.endpoint.failingSince ?? new Date() },
      include: { user: { select: { role: true } } },
    });
    const failingMs = Date.now() - (ep.failingSince ?? new Date()).getTime();
    if (!ep.enabled || ep.consecutiveFailures < config.disableAfterFailures || failingMs < config.disableAfterHours * 3_600_000)
      return false;
    await tx.webhookEndpoint.update({ where: { id: ep.id }, data: { enabled: false, disabledReason: 'failing', disabledAt: new Date() } });
    await tx.webhookDelivery.update({ where: { id: deliveryId }, data: { status: 'failed' } });
    await recordAudit(tx, SYSTEM_WEBHOOKS, {
      action: 'webhook.auto_disable',
      targetType: 'webhook',
      targetId: ep.id,
      ownerId: ep.user.role === 'OWNER' ? ep.userId : null,
      details: {
        url: ep.url,
        consecutiveFailures: ep.consecutiveFailures,
        failingSince: ep.failingSince,
        lastStatusCode: result.statusCode,
        lastError: result.error,
      },
    });
    return true;
  });
  const log = { deliveryId, eventId: d.eventId, endpointId: d.endpointId, statusCode: result.statusCode, attempt: job.retryCount + 1 };
  if (ok) return { delivered: true, statusCode: result.statusCode ?? 0 };
  if (disabled) deps.metrics.webhookEndpointsDisabled.inc();
  if (disabled) deps.logger.warn({ ...log, error: result.error }, 'webhook endpoint disabled after sustained failure');
  if (last || disabled) return { delivered: false, final: true };
  throw new AppError('INTERNAL', `webhook attempt failed (${result.statusCode ?? result.error}); pg-boss retries it`);
}
