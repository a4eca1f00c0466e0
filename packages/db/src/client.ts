import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { pgStream } from './framed-socket.ts';
import { PrismaClient } from './generated/prisma/client.ts';

export { PrismaClient, Prisma } from './generated/prisma/client.ts';
export type * from './generated/prisma/client.ts';
/** The `pg` pool type, for callers that stream through the pool directly (see createPrismaClientWithPool). */
export type { Pool as PgPool, PoolClient as PgPoolClient } from 'pg';

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
  const pool = new pg.Pool({
    connectionString,
    max: options.maxConnections ?? 10,
    application_name: options.applicationName ?? 'mailroom',
    ...(options.reuseReadBuffers ? { stream: pgStream as unknown as pg.PoolConfig['stream'] } : {}),
  });
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
