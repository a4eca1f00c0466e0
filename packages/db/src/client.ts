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

/** A pg pool whose checkout timeout surfaces as PoolTimeoutError (pool.query and Prisma's queries go through connect too). */
class BoundedPool extends pg.Pool {
  constructor(
    config: pg.PoolConfig,
    private readonly acquireTimeoutMs: number,
  ) {
    super(config);
  }

  private mapError(err: Error | undefined): Error | undefined {
    return err?.message === PG_POOL_TIMEOUT ? new PoolTimeoutError(this.acquireTimeoutMs, { cause: err }) : err;
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    if (callback) return super.connect((err, client, done) => callback(this.mapError(err), client, done));
    return super.connect().catch((err: Error) => {
      throw this.mapError(err);
    });
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
  const pool =
    options.acquireTimeoutMs === undefined
      ? new pg.Pool(config)
      : new BoundedPool({ ...config, connectionTimeoutMillis: options.acquireTimeoutMs }, options.acquireTimeoutMs);
  // An idle connection that PostgreSQL closes (a restart, pg_terminate_backend) is dropped by the pool, which then
  // emits 'error'. Prisma's adapter listens only from its first query on, and a pool used directly may have no other
  // listener: unheard, the event would end the process. The next checkout simply opens a new connection.
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

/** A connection checked out of a pool by {@link checkOut}. */
export interface CheckedOut {
  readonly client: pg.PoolClient;
  /** The error the connection reported while checked out (its server closed it, the socket broke), if any. */
  readonly broken: Error | undefined;
  /** Gives it back: a broken connection, or one the caller asks to discard (a COPY left running), is closed instead. */
  release(discard?: boolean): void;
}

/**
 * Checks a connection out of the pool and listens for its errors until it is released. pg reports a connection that
 * dies (PostgreSQL restarted or the backend was terminated) as an 'error' event on the client even while a query is
 * running, and the pool stops listening to a client while it is checked out: unheard, that event ends the process.
 * Use this, not `pool.connect()`, for any connection held across more than one query.
 */
export async function checkOut(pool: pg.Pool): Promise<CheckedOut> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => (broken ??= err);
  client.on('error', onError);
  let released = false;
  return {
    client,
    get broken() {
      return broken;
    },
    release(discard = false) {
      if (released) return;
      released = true;
      // the pool listens again from here (and drops a connection given back with an error)
      client.removeListener('error', onError);
      client.release(broken ?? (discard ? true : undefined));
    },
  };
}
