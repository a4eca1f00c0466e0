import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { pgStream } from './framed-socket.ts';
import { PrismaClient } from './generated/prisma/client.ts';

export { PrismaClient, Prisma } from './generated/prisma/client.ts';
export type * from './generated/prisma/client.ts';
/** The `pg` pool type, for callers that stream through the pool directly (see createPrismaClientWithPool). */
export type { Pool as PgPool, PoolClient as PgPoolClient, QueryResultRow as PgRow } from 'pg';

export interface CreatePrismaClientOptions {
  /** Maximum pooled connections for this client. */
  maxConnections?: number;
  /** Name shown in pg_stat_activity. */
  applicationName?: string;
  /**
   * Read each connection into one reused buffer instead of a fresh Buffer per read (see framed-socket.ts): for
   * processes that stream large values, so spent read buffers do not pile up between garbage collections.
   */
  reuseReadBuffers?: boolean;
  /**
   * How long a caller waits for a pooled connection (a free one, or a new one connecting) before it gets a
   * PoolTimeoutError instead of queueing for ever. Unset = wait indefinitely (pg's default).
   */
  acquireTimeoutMs?: number;
}

/** No pooled connection became free within the acquire timeout: the service is saturated, try again later. */
export class PoolTimeoutError extends Error {
  readonly code = 'DB_POOL_TIMEOUT';
  constructor(timeoutMs: number, options?: { cause?: unknown }) {
    super(`no database connection free within ${timeoutMs} ms (DB_POOL_TIMEOUT)`, options);
    this.name = 'PoolTimeoutError';
  }
}

/** pg-pool's message when a checkout waited connectionTimeoutMillis for a free client. */
const PG_POOL_TIMEOUT = 'timeout exceeded when trying to connect';

type ConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

/**
 * Emitted by the pools of {@link createPgPool} when a checkout has to queue because every connection is checked out: a
 * component that keeps connections checked out between uses (the ingress's group commit keeps the connections of its
 * large batches warm) listens and gives one back, so a queued caller does not wait for that component's next timer.
 */
const POOL_EXHAUSTED = 'exhausted';
/** Emitted when `end()` is called: `end()` waits for every checked-out connection, so kept ones must go back now. */
const POOL_ENDING = 'ending';

/**
 * Listens to the pool's {@link POOL_EXHAUSTED} and {@link POOL_ENDING} (only pools from {@link createPgPool} emit them).
 * Returns the function that stops listening.
 */
export function watchPool(pool: pg.Pool, listeners: { exhausted: () => void; ending: () => void }): () => void {
  const events = pool as unknown as NodeJS.EventEmitter;
  events.on(POOL_EXHAUSTED, listeners.exhausted);
  events.on(POOL_ENDING, listeners.ending);
  return () => {
    events.removeListener(POOL_EXHAUSTED, listeners.exhausted);
    events.removeListener(POOL_ENDING, listeners.ending);
  };
}

/**
 * Mailroom's pg pool: emits {@link POOL_EXHAUSTED} when a checkout queues and {@link POOL_ENDING} when it is ended, and,
 * with an acquire timeout, reports a checkout that waited too long as PoolTimeoutError (pool.query and Prisma's queries
 * go through connect too).
 */
class MailroomPool extends pg.Pool {
  constructor(
    config: pg.PoolConfig,
    private readonly acquireTimeoutMs?: number,
  ) {
    super(acquireTimeoutMs === undefined ? config : { ...config, connectionTimeoutMillis: acquireTimeoutMs });
  }

  private mapError(err: Error | undefined): Error | undefined {
    return err?.message === PG_POOL_TIMEOUT ? new PoolTimeoutError(this.acquireTimeoutMs!, { cause: err }) : err;
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    // pg-pool queues the checkout (synchronously) when nothing is idle and the pool is at its size
    const queues = !this.ending && this.idleCount === 0 && this.totalCount >= (this.options.max ?? 10);
    const result =
      this.acquireTimeoutMs === undefined
        ? callback
          ? super.connect(callback)
          : super.connect()
        : callback
          ? super.connect((err, client, done) => callback(this.mapError(err), client, done))
          : super.connect().catch((err: Error) => {
              throw this.mapError(err);
            });
    // after the checkout is queued, so a connection given back by a listener goes to it
    if (queues) this.emit(POOL_EXHAUSTED);
    return result;
  }

  override end(): Promise<void>;
  override end(callback: () => void): void;
  override end(callback?: () => void): Promise<void> | void {
    if (!this.ending) this.emit(POOL_ENDING);
    return callback ? super.end(callback) : super.end();
  }
}

/** A `pg` pool as Mailroom's services use them (application name, optional framed sockets and acquire timeout). */
export function createPgPool(connectionString: string, options: CreatePrismaClientOptions = {}): pg.Pool {
  const config: pg.PoolConfig = {
    connectionString,
    max: options.maxConnections ?? 10,
    application_name: options.applicationName ?? 'mailroom',
    ...(options.reuseReadBuffers ? { stream: pgStream as unknown as pg.PoolConfig['stream'] } : {}),
  };
  const pool = new MailroomPool(config, options.acquireTimeoutMs);
  // A connection PostgreSQL closes (a restart, pg_terminate_backend) reports it as an 'error' event on its client, even
  // while a query runs (which also fails), and pg-pool listens to a client only while it is idle: a connection held
  // across several queries (a transaction, a COPY download) would raise an event nobody hears, which ends the process.
  // So every client of these pools has a listener of its own from the start; the caller sees the failed query, and a
  // connection given back after such an error is no longer queryable, so the pool drops it.
  pool.on('connect', (client) => client.on('error', () => undefined));
  // An idle one is dropped by the pool, which then emits 'error' itself: Prisma's adapter listens only from its first
  // query on, and a pool used directly may have no other listener.
  pool.on('error', () => undefined);
  return pool;
}

/** Builds a Prisma client over the `pg` driver adapter. The caller owns it and must `$disconnect()`. */
export function createPrismaClient(connectionString: string, options: CreatePrismaClientOptions = {}): PrismaClient {
  return createPrismaClientWithPool(connectionString, options).prisma;
}

/**
 * The same client, plus the `pg.Pool` underneath it, for the rare path that must bypass Prisma (e.g. streaming a large
 * `bytea` with COPY). Both share the pool's connections; `prisma.$disconnect()` ends the pool.
 */
export function createPrismaClientWithPool(
  connectionString: string,
  options: CreatePrismaClientOptions = {},
): { prisma: PrismaClient; pool: pg.Pool } {
  const pool = createPgPool(connectionString, options);
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  const prisma = new PrismaClient({ adapter });
  pools.set(prisma, pool);
  return { prisma, pool };
}

const pools = new WeakMap<PrismaClient, pg.Pool>();

/**
 * The `pg.Pool` under a client made by createPrismaClient / createPrismaClientWithPool, for the paths that must pass
 * large `bytea` values: Prisma serialises a Buffer parameter through several text copies (about 7× its size in memory
 * for a 50 MiB value, measured), `pg` sends it as one binary parameter (about 1×).
 */
export function pgPoolOf(prisma: PrismaClient): pg.Pool | undefined {
  return pools.get(prisma);
}
