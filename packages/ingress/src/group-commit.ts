/**
 * Group commit: every delivery of a domain must update the domain's usage row, whose lock is held until the commit
 * is flushed, so one transaction per message caps a domain at one message per WAL flush. Requests that arrive while a
 * batch is being stored are stored together by the next one (one statement, one flush); if anything in a batch is
 * refused or the batch fails, its requests are stored one by one.
 */
import { copyMessageParts, storedInParts, type PgPoolClient } from '@mailroom/db';
import type { BatchInfo, GroupCommitContext, PendingStore, QuotaWarning, StoreResult } from './delivery-types.ts';
import { lockOwners } from './quota.ts';
import { applyBatch, applyStore, batchParts, CommittedBatchError, deliverQuotaWarnings, isBatchRefused } from './store-statements.ts';

/** Requests stored in one transaction at most, and the octets after which a batch takes no more requests. */
const MAX_BATCH_REQUESTS = 64;
const MAX_BATCH_BYTES = 16 * 1024 * 1024;
/**
 * Batches being stored at once when the next one carries large bodies: the others copy their message parts while one
 * waits for its rows and its commit (rows they share serialise them there, in lock order), instead of leaving the
 * database idle during every round trip and flush of a batch of 1 MB messages (issue 17). Three rather than two: 1 MB
 * LMTP, interleaved rounds of bench/run.ts --only=1mb --trials=5 --per=16, median 104.7 / 103.2 / 105.5 / 92.9 msg/s
 * against 86.1 / 122.3 / 76.7 / 79.8 (better in eight of nine rounds over two sessions; ingress README). Smaller
 * batches with more in flight cost PostgreSQL more CPU per message and were slower (four of about 2 MB: 75-91 msg/s).
 * Batches of small messages go one at a time: a second one only split them into smaller batches (10 KB: 283-330 msg/s
 * with two, 292-390 with one, interleaved).
 */
const MAX_IN_FLIGHT = 3;

export class GroupCommit {
  constructor(private readonly ctx: GroupCommitContext) {}

  /** Queues a request; resolves once it is committed (or refused). */
  enqueue(item: Omit<PendingStore, 'resolve' | 'reject'>): Promise<StoreResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...item, resolve, reject });
      this.pump();
    });
  }

  private readonly queue: PendingStore[] = [];
  private inFlight = 0;

  /**
   * Runs `fn` in one transaction on one pooled connection (statements limited to transactionTimeoutMs each). `open`,
   * if given, sends the opening statements itself, together with its own (one round trip for both); with `fnOpens`,
   * `fn` sends them (given as `begin`), and with `fnCommits` it commits (its last statement carries the COMMIT).
   */
  private async transaction<T>(
    fn: (tx: PgPoolClient, begin: string[]) => Promise<T>,
    options: { open?: (tx: PgPoolClient, begin: string) => Promise<unknown>; fnOpens?: boolean; fnCommits?: boolean } = {},
  ): Promise<T> {
    const tx = await this.ctx.pool.connect();
    let broken = false;
    try {
      const begin = ['BEGIN', `SET LOCAL statement_timeout = ${Math.trunc(this.ctx.transactionTimeoutMs)}`];
      if (!options.fnOpens) await (options.open ? options.open(tx, begin.join('; ')) : tx.query(begin.join('; ')));
      const result = await fn(tx, begin);
      if (!options.fnCommits) await tx.query('COMMIT');
      return result;
    } catch (err) {
      // also after a failed opening (fnOpens): ROLLBACK outside a transaction is only a warning
      await tx.query('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      tx.release(broken);
    }
  }

  private pump(): void {
    if (this.inFlight >= MAX_IN_FLIGHT || !this.queue.length) return;
    if (this.inFlight > 0 && !storedInParts(this.queue[0]!.copies[0]!.body)) return;
    const batch: PendingStore[] = [];
    let bytes = 0;
    while (this.queue.length && batch.length < MAX_BATCH_REQUESTS && (batch.length === 0 || bytes < MAX_BATCH_BYTES)) {
      const next = this.queue.shift()!;
      batch.push(next);
      for (const c of next.copies) bytes += c.size;
    }
    this.inFlight++;
    this.runBatch(batch)
      // runBatch settles every request itself; this only keeps an unexpected failure (an observer that threw) from
      // leaving a request waiting for ever or becoming an unhandled rejection. Settled requests ignore the reject.
      .catch((err: unknown) => {
        for (const item of batch) item.reject(err);
        this.ctx.onError?.(err);
      })
      .finally(() => {
        this.inFlight--;
        this.pump();
      });
    // requests left over (a full batch) may start another batch now
    this.pump();
  }

  private async runBatch(batch: PendingStore[]): Promise<void> {
    const started = performance.now();
    const report = (outcome: BatchInfo['outcome'], error?: unknown) => {
      if (!this.ctx.onBatch) return;
      let copies = 0;
      let bytes = 0;
      for (const item of batch) {
        for (const c of item.copies) {
          copies++;
          bytes += c.size;
        }
      }
      this.ctx.onBatch({
        requests: batch.length,
        copies,
        bytes,
        seconds: (performance.now() - started) / 1000,
        outcome,
        ...(error ? { error } : {}),
      });
    };
    let results: StoreResult[];
    try {
      const ownerLimited = batch.some((item) => item.copies.some((c) => c.target.ownerLimited));
      const parts = batchParts(batch);
      // one statement for the whole batch (bodies are binary parameters); without a limited owner or a large body it
      // is its own implicit transaction: no BEGIN/COMMIT round trips (a due quota warning aborts it, and the requests
      // are then stored one by one in transactions that deliver the warning)
      results =
        !ownerLimited && !parts.length
          ? await applyBatch(this.ctx, this.ctx.pool, batch, [])
          : ownerLimited
            ? // a limited owner: a transaction that locks its row first (any parts are copied with BEGIN, before the
              // statement takes a row lock); an owner limited only since RCPT time makes the statement refuse the
              // batch without that lock, and storeEach locks and checks it exactly
              await this.transaction(async (tx) => applyBatch(this.ctx, tx, batch, await lockOwners(tx, batch), { commit: true }), {
                ...(parts.length ? { open: (tx, begin) => copyMessageParts(tx, parts, begin) } : {}),
                fnCommits: true,
              })
            : // large bodies: BEGIN, the parts' COPY, the statement and the COMMIT in one round trip; a quota warning
              // due aborts it as in the batch above
              await this.transaction(
                (tx, begin) => applyBatch(this.ctx, tx, batch, [], { commit: true, open: { statements: begin, parts } }),
                { fnOpens: true, fnCommits: true },
              );
    } catch (err) {
      if (err instanceof CommittedBatchError) {
        // stored already: storing each request again would duplicate it; the sender retries after a temporary failure
        report('failed', err);
        for (const item of batch) item.reject(err);
        return;
      }
      if (isBatchRefused(err)) report('refused');
      else report('failed', err);
      await this.storeEach(batch);
      return;
    }
    // Committed: the requests are answered first, and nothing that runs after the commit can send the batch to
    // storeEach (it would store every message a second time).
    batch.forEach((item, i) => item.resolve(results[i]!));
    report('committed');
  }

  /**
   * Something in the batch was refused (quota, disabled) or its transaction failed, so nothing of it was stored: each
   * request is stored on its own, which also finds the exact reason for a refusal.
   */
  private async storeEach(batch: PendingStore[]): Promise<void> {
    for (const item of batch) {
      const warnings: QuotaWarning[] = [];
      let result: StoreResult;
      try {
        result = await this.transaction(async (tx) => {
          const out = await applyStore(this.ctx, tx, item, item.copies.length > 1, await lockOwners(tx, [item]), warnings);
          await deliverQuotaWarnings(this.ctx, tx, warnings);
          return out;
        });
      } catch (e) {
        item.reject(e);
        continue;
      }
      // answered before anything else runs: a stored message must never be reported as failed
      item.resolve(result);
      if (warnings.length) this.ctx.onQuotaWarnings?.(warnings);
    }
  }
}
