/**
 * Group commit: every delivery of a domain must update the domain's usage row, whose lock is held until the commit
 * is flushed, so one transaction per message caps a domain at one message per WAL flush. Requests that arrive while a
 * batch is being stored are stored together by the next one (one statement, one flush); if anything in a batch is
 * refused or the batch fails, its requests are stored one by one.
 */
import { copyMessageParts, storedInParts, watchPool, type PgPool, type PgPoolClient } from '@mailroom/db';
import type { BatchInfo, GroupCommitContext, PendingStore, QuotaWarning, StoreResult } from './delivery-types.ts';
import { lockOwners } from './quota.ts';
import { applyBatch, applyStore, batchParts, CommittedBatchError, deliverQuotaWarnings, isBatchRefused } from './store-statements.ts';

/** Requests stored in one transaction at most, and the octets after which a batch takes no more requests. */
const MAX_BATCH_REQUESTS = 64;
const MAX_BATCH_BYTES = 16 * 1024 * 1024;
/**
 * Batches being stored at once when the next one carries large bodies: the others copy their message parts while one
 * waits for its rows and its commit (rows they share serialise them there, in lock order), instead of leaving the
 * database idle during every round trip and flush of a batch of 1 MB messages (issue 17). Two: more batches in flight
 * make PostgreSQL's first touches of pages (buffers it evicts, new table pages, WAL pages) dearer. Beside Dovecot, five
 * interleaved pairs of bench/dovecot.ts --only=1mb --trials=5 gave 110.4, 125.2, 144.5, 149.0, 151.8 msg/s with two
 * against 98.3, 115.5, 131.1, 149.1, 141.1 with three (ratio to Dovecot 0.67-0.83x against 0.63-0.76x, higher in all
 * five), PostgreSQL's CPU per message 5.31-7.03 ms against 5.63-7.27; six were slower still, with or without the parts
 * spread over several tables (ingress README, items 23 and 24). Three had been measured better than two before the
 * warm connections and the WAL's direct writes (item 9).
 * Batches of small messages go one at a time: a second one only split them into smaller batches (10 KB: 283-330 msg/s
 * with two, 292-390 with one, interleaved).
 */
const MAX_IN_FLIGHT = 2;
/**
 * How long the connections of the last batches of large bodies stay with the group commit after their batch (up to
 * {@link MAX_IN_FLIGHT} of them; the next such batch takes one of them before asking the pool): see {@link WarmConnections}.
 * Five minutes, so a pause in the mail (or a burst of other work) does not hand the next large batch to a backend
 * that has not mapped PostgreSQL's shared memory yet; a caller that queues for the pool meanwhile gets one at once.
 * It was 2 s: beside Dovecot, whose trials come between Mailroom's, four interleaved rounds of bench/dovecot.ts
 * --only=1mb --trials=5 gave PostgreSQL's CPU per 1 MB message (median of the trials) 7.42, 7.89, 8.28, 6.25 ms with
 * the connections kept against 10.23, 9.30, 10.08, 7.81 with 2 s, and Mailroom's rate 115.8, 104.9, 108.2, 121.5
 * against 97.1, 91.7, 96.1, 112.7 msg/s (ingress README, item 19).
 */
const WARM_LINGER_MS = 300_000;

/**
 * Keeps the COPYs of large bodies on the same few PostgreSQL backends instead of whichever pooled connection is free.
 * A backend maps each page of PostgreSQL's shared memory (buffers, WAL buffers) the first time it touches one, and a
 * COPY's buffers are taken anywhere in shared_buffers: with the copies spread over all ten pooled connections, every
 * backend ends up mapping all of it, one page fault per 4 KiB. On the development machine (a virtual machine where a
 * page fault costs about 12 µs: 381-412 ms for 32,768 pages of shared memory touched by a fresh child process),
 * four interleaved rounds of bench/run.ts --only=1mb --trials=5 --per=16: PostgreSQL's CPU per message (median of
 * the trials) 7.8, 8.3, 7.8, 7.6 ms with the connections kept against 11.4, 9.3, 13.0, 12.7 without; 105.5, 103.2,
 * 100.7, 111.4 against 89.3, 102.4, 78.6, 78.5 msg/s (issue 17; ingress README, item 14).
 *
 * The connections are the pool's (the connection budget does not change); none is kept while others wait for the pool:
 * one goes back each time a checkout queues, and all of them when the pool is ended ({@link watchPool}). They also go
 * back once no batch of large bodies has run for the linger time ({@link WARM_LINGER_MS} unless set), on close, or when
 * their server closes them (an error while kept here).
 */
class WarmConnections {
  private readonly idle: PgPoolClient[] = [];
  private readonly onError = new Map<PgPoolClient, (err: Error) => void>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Listening to the pool's queued checkouts and its end: only while a connection is kept. */
  private stopListening: (() => void) | undefined;

  constructor(
    private readonly pool: PgPool,
    private readonly lingerMs: number,
  ) {}

  /** A kept connection if there is one, else one from the pool. */
  take(): Promise<PgPoolClient> {
    const client = this.idle.pop();
    if (!client) return this.pool.connect();
    client.removeListener('error', this.onError.get(client)!);
    this.onError.delete(client);
    this.settle();
    return Promise.resolve(client);
  }

  /** After a batch: keeps a healthy connection (up to `max`) unless others wait for the pool; gives the others back. */
  put(client: PgPoolClient, broken: boolean, max: number): void {
    if (broken || this.closed || this.idle.length >= max || this.pool.waitingCount > 0) {
      client.release(broken);
      return;
    }
    // a connection the server closes while kept here is given back as broken (the pool then drops it); the dead
    // connection's later errors (its socket's reset after the server's FATAL message) are expected and dropped
    const onError = (err: Error) => {
      const i = this.idle.indexOf(client);
      if (i >= 0) this.idle.splice(i, 1);
      this.settle();
      client.removeListener('error', onError);
      this.onError.delete(client);
      client.on('error', () => undefined);
      client.release(err);
    };
    this.onError.set(client, onError);
    client.on('error', onError);
    this.idle.push(client);
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => this.releaseAll(), this.lingerMs).unref();
    this.settle();
  }

  /** Gives every kept connection back to the pool; later batches' connections go straight back too. */
  close(): void {
    this.closed = true;
    this.releaseAll();
  }

  /** How many are kept now (tests). */
  get kept(): number {
    return this.idle.length;
  }

  private releaseAll(): void {
    for (const client of this.idle.splice(0)) this.giveBack(client);
    this.settle();
  }

  /** A checkout queued for the pool: the least recently used kept connection goes to it. */
  private releaseOne(): void {
    const client = this.idle.shift();
    if (client) this.giveBack(client);
    this.settle();
  }

  /** Listens to the pool while a connection is kept; with none kept, neither the listener nor the timer remains. */
  private settle(): void {
    if (this.idle.length) {
      this.stopListening ??= watchPool(this.pool, { exhausted: () => this.releaseOne(), ending: () => this.close() });
      return;
    }
    this.stopListening?.();
    this.stopListening = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private giveBack(client: PgPoolClient): void {
    client.removeListener('error', this.onError.get(client)!);
    this.onError.delete(client);
    client.release();
  }
}

export class GroupCommit {
  private readonly warm: WarmConnections;

  constructor(private readonly ctx: GroupCommitContext) {
    this.warm = new WarmConnections(ctx.pool, ctx.keepConnectionsMs ?? WARM_LINGER_MS);
  }

  /** Gives back the connections kept for batches of large bodies and keeps none from then on. */
  close(): void {
    this.warm.close();
  }

  /** Connections kept for batches of large bodies right now (tests). */
  get warmConnections(): number {
    return this.warm.kept;
  }

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
    options: {
      open?: (tx: PgPoolClient, begin: string) => Promise<unknown>;
      fnOpens?: boolean;
      fnCommits?: boolean;
      /** The batch copies large bodies: on one of the connections kept for those (WarmConnections). */
      parts?: boolean;
    } = {},
  ): Promise<T> {
    const tx = await (options.parts ? this.warm.take() : this.ctx.pool.connect());
    let broken = false;
    // a connection that dies between two statements reports it as an 'error' event, which nothing else listens to
    // while it is checked out (unheard, it would end the process); it is then given back as broken
    const onError = () => (broken = true);
    tx.on('error', onError);
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
      tx.removeListener('error', onError);
      if (options.parts) this.warm.put(tx, broken, this.ctx.keepConnections === false ? 0 : MAX_IN_FLIGHT);
      else tx.release(broken);
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
                ...(parts.length ? { open: (tx, begin) => copyMessageParts(tx, parts, begin), parts: true } : {}),
                fnCommits: true,
              })
            : // large bodies: BEGIN, the parts' COPY, the statement and the COMMIT in one round trip; a quota warning
              // due aborts it as in the batch above
              await this.transaction(
                (tx, begin) => applyBatch(this.ctx, tx, batch, [], { commit: true, open: { statements: begin, parts } }),
                { fnOpens: true, fnCommits: true, parts: true },
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
