import {
  expireMessagesPastRetention,
  pruneDeliveryLog,
  pruneSignInLog,
  pruneExpiredClaims,
  recheckDomains,
  type DnsLookup,
  type ExpireRetentionSummary,
} from '@mailroom/core';
import type { PrismaClient } from '@mailroom/db';
import type { Logger } from 'pino';
import type { JobName, WorkerConfig } from './config.ts';
import type { WorkerMetrics } from './metrics.ts';

/** What a job run gets: the database, the resolver, the settings, and whether the worker is stopping. */
export interface JobContext {
  prisma: PrismaClient;
  dns: DnsLookup;
  config: WorkerConfig;
  metrics: WorkerMetrics;
  logger: Logger;
  /** True once shutdown began: long jobs end at their next safe point (the next run picks up where this one ended). */
  stopping(): boolean;
}

/** pg-boss queue settings of a job (see {@link JOBS}). */
export interface JobQueueOptions {
  /** stately: at most one run waiting and one active per queue, so runs never overlap and never pile up. */
  policy: 'stately';
  retryLimit: number;
  retryDelay: number;
  expireInSeconds: number;
}

export interface JobDefinition {
  queue: JobQueueOptions;
  /** Idempotent: running it twice, or again after a crash half-way, leaves the same state. Returns the run's summary. */
  run(ctx: JobContext): Promise<Record<string, number | boolean>>;
}

export interface RecheckSummary extends Record<string, number | boolean> {
  checked: number;
  flagged: number;
  unavailable: number;
  batches: number;
  /** The run ended early because the worker is stopping. */
  interrupted: boolean;
}

/**
 * Re-checks the MX of every active domain not checked within `recheck.minAgeHours`, `batchSize` at a time, least
 * recently checked first. The cut-off is fixed at the start, so a domain checked in this run is not picked again; a
 * batch in which the resolver failed for every domain ends the run (the domains keep their previous state).
 */
export async function recheckDueDomains(ctx: JobContext): Promise<RecheckSummary> {
  const { batchSize, minAgeHours } = ctx.config.recheck;
  const olderThan = new Date(Date.now() - minAgeHours * 3_600_000);
  const onboarding = { ...ctx.config.onboarding, dns: ctx.dns };
  const summary: RecheckSummary = { checked: 0, flagged: 0, unavailable: 0, batches: 0, interrupted: false };
  for (;;) {
    if (ctx.stopping()) {
      summary.interrupted = true;
      break;
    }
    const r = await recheckDomains(ctx.prisma, onboarding, { limit: batchSize, olderThan });
    summary.batches++;
    summary.checked += r.checked;
    summary.unavailable += r.unavailable;
    summary.flagged += r.flagged.length;
    ctx.metrics.domainsChecked.inc({ mx_status: 'ok' }, r.checked - r.flagged.length);
    for (const f of r.flagged) ctx.metrics.domainsChecked.inc({ mx_status: f.mxStatus });
    ctx.metrics.domainsChecked.inc({ mx_status: 'unavailable' }, r.unavailable);
    for (const f of r.flagged)
      ctx.logger.warn(
        { domain: f.name, domainId: f.domainId, mxStatus: f.mxStatus, expected: onboarding.mxHosts.map((h) => h.host) },
        'domain MX does not point here',
      );
    for (const f of r.mtaStsFlagged)
      ctx.logger.warn({ domain: f.name, domainId: f.domainId, status: f.status }, 'domain MTA-STS record does not name the policy served');
    if (r.unavailable > 0)
      ctx.logger.warn({ unavailable: r.unavailable }, 'DNS resolver failed for some domains; they keep their previous state');
    if (r.checked + r.unavailable < batchSize || r.checked === 0) break;
  }
  ctx.metrics.domainsFlagged.set(
    await ctx.prisma.domain.count({ where: { verifiedAt: { not: null }, mxStatus: { in: ['missing', 'different'] } } }),
  );
  ctx.metrics.mtaStsFlagged.set(
    await ctx.prisma.domain.count({
      where: { verifiedAt: { not: null }, mtaStsMode: { not: null }, mtaStsRecordStatus: { in: ['missing', 'different'] } },
    }),
  );
  return summary;
}

/** Deletes pending domain claims past their expiry, each with a domain.claim_expired audit event (one transaction). */
export async function pruneClaims(ctx: JobContext): Promise<{ pruned: number }> {
  const pruned = await ctx.prisma.$transaction((tx) => pruneExpiredClaims(tx));
  ctx.metrics.claimsPruned.inc(pruned);
  return { pruned };
}

/**
 * RFC 2449 EXPIRE n: deletes messages past their mailbox's effective retention (mailbox → domain → POP3_EXPIRE_DAYS),
 * one maildrop per transaction with usage updated in it; maildrops a POP3 session holds are skipped until the next run.
 */
export async function expireRetainedMessages(ctx: JobContext): Promise<ExpireRetentionSummary> {
  const r = await expireMessagesPastRetention(ctx.prisma, { ...ctx.config.retention, stopping: ctx.stopping });
  ctx.metrics.messagesExpired.inc(r.deleted);
  if (r.leased > 0) ctx.logger.info({ leased: r.leased }, 'retention: maildrops held by a POP3 session skipped until the next run');
  return r;
}

/** Deletes delivery log entries older than DELIVERY_LOG_RETENTION_DAYS (in chunks; a rerun deletes what is left). */
export async function pruneOldDeliveryLog(ctx: JobContext): Promise<{ pruned: number }> {
  const pruned = await pruneDeliveryLog(ctx.prisma, ctx.config.deliveryLogRetentionDays);
  ctx.metrics.deliveryLogPruned.inc(pruned);
  return { pruned };
}

/** Deletes sign-ins (mailboxes' and panel users') older than SIGN_IN_LOG_RETENTION_DAYS (in chunks; a rerun deletes what is left). */
export async function pruneOldSignIns(ctx: JobContext): Promise<{ pruned: number }> {
  const pruned = await pruneSignInLog(ctx.prisma, ctx.config.signInLogRetentionDays);
  ctx.metrics.signInLogPruned.inc(pruned);
  return { pruned };
}

const RETRY = { retryLimit: 2, retryDelay: 60 };

/** Every job the worker runs, by queue name. */
export const JOBS: Record<JobName, JobDefinition> = {
  'domains.recheck': { queue: { policy: 'stately', ...RETRY, expireInSeconds: 3_600 }, run: recheckDueDomains },
  'domains.prune-claims': { queue: { policy: 'stately', ...RETRY, expireInSeconds: 600 }, run: pruneClaims },
  'messages.expire': { queue: { policy: 'stately', ...RETRY, expireInSeconds: 3_600 }, run: expireRetainedMessages },
  'delivery-log.prune': { queue: { policy: 'stately', ...RETRY, expireInSeconds: 1_800 }, run: pruneOldDeliveryLog },
  'sign-in-log.prune': { queue: { policy: 'stately', ...RETRY, expireInSeconds: 1_800 }, run: pruneOldSignIns },
};
