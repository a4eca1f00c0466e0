import { createPgPool, createPrismaClientWithPool, type PgPool, type PrismaClient } from '@mailroom/db';
import type { AuthThrottle, PasswordHasher } from '@mailroom/core';
import type { Pop3DatabaseOptions } from './config.ts';
import { PrismaMaildropStore, type PrismaMaildropStoreOptions } from './prisma-store.ts';

export interface Pop3Database {
  /** Everything but message streams (POP3_DB_CONNECTIONS). */
  prisma: PrismaClient;
  /** RETR/TOP's COPY streams only (POP3_STREAM_CONNECTIONS): a client that stops reading holds one of these, never a login's. */
  streamPool: PgPool;
  close(): Promise<void>;
}

/**
 * The POP3 process's database: two bounded pools, both with an acquire timeout (POP3_DB_ACQUIRE_TIMEOUT_MS), so a
 * burst of stalled downloads can at worst make other downloads wait and fail with -ERR [SYS/TEMP], never logins.
 * Both read into reused buffers (packages/db framed sockets).
 */
export function openPop3Database(url: string, opts: Pop3DatabaseOptions, applicationName = 'mailroom-pop3'): Pop3Database {
  const common = { reuseReadBuffers: true, acquireTimeoutMs: opts.acquireTimeoutMs };
  const { prisma } = createPrismaClientWithPool(url, { ...common, applicationName, maxConnections: opts.connections });
  const streamPool = createPgPool(url, { ...common, applicationName: `${applicationName}-stream`, maxConnections: opts.streamConnections });
  return {
    prisma,
    streamPool,
    async close() {
      await Promise.all([prisma.$disconnect(), streamPool.end()]);
    },
  };
}

/**
 * The maildrop store main.ts serves from: Prisma for logins, listings and deletions, the stream pool for RETR/TOP.
 * Tests that stand for production (the interop test with real clients) build theirs here too, so they read messages the
 * way production does. `tuning` only changes sizes (e.g. tiny rows, so clients cross many chunk borders).
 */
export function createPop3Store(
  db: Pop3Database,
  deps: { hasher: PasswordHasher; throttle: AuthThrottle; requireAppPasswords: boolean },
  tuning: Pick<PrismaMaildropStoreOptions, 'chunkOctets'> = {},
): PrismaMaildropStore {
  return new PrismaMaildropStore({ prisma: db.prisma, pool: db.streamPool, ...deps, ...tuning });
}
