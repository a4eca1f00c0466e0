import { afterAll, describe, expect, it } from 'vitest';
import { createPgPool, createPrismaClientWithPool, PoolTimeoutError, watchPool, type PgPoolClient } from './client.ts';
import { testDatabaseUrl } from './testing/index.ts';

const { prisma, pool } = createPrismaClientWithPool(testDatabaseUrl(), { maxConnections: 1, acquireTimeoutMs: 300 });
afterAll(() => prisma.$disconnect());

/**
 * The pool's one connection, for the test to hold. Opening it is not what is tested, and on a loaded machine (CI runs
 * two suites at a time) a new connection can take longer than the 300 ms the pool allows, which fails with pg's own
 * "connection timeout": so it is tried again. Once it is held, every wait below is for a free connection only.
 */
async function holdTheOnlyConnection() {
  for (let attempt = 1; ; attempt++) {
    try {
      return await pool.connect();
    } catch (err) {
      if (attempt >= 20) throw err;
    }
  }
}

describe('pool acquire timeout', () => {
  it('a saturated pool answers with PoolTimeoutError instead of queueing for ever, then serves again', async () => {
    const held = await holdTheOnlyConnection();
    try {
      const err = await pool.connect().then(
        (c) => (c.release(), undefined),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PoolTimeoutError);
      expect((err as PoolTimeoutError).code).toBe('DB_POOL_TIMEOUT');
      await expect(pool.query('SELECT 1')).rejects.toBeInstanceOf(PoolTimeoutError);
      const viaPrisma = await prisma.$queryRaw`SELECT 1`.then(
        () => undefined,
        (e: unknown) => e,
      );
      // Prisma keeps the code, so services classify it (core's isDatabaseUnavailable) without knowing the pool
      expect((viaPrisma as { code?: string }).code).toBe('DB_POOL_TIMEOUT');
    } finally {
      held.release();
    }
    expect(await prisma.$queryRaw<{ n: number }[]>`SELECT 1 AS n`).toEqual([{ n: 1 }]);
  });
});

describe('createPgPool', () => {
  it('a held connection PostgreSQL closes fails its queries, not the process; it is dropped on release', async () => {
    const own = createPgPool(testDatabaseUrl(), { maxConnections: 1, applicationName: 'held-close-test' });
    const poolErrors: Error[] = [];
    own.on('error', (err) => poolErrors.push(err));
    try {
      const held = await own.connect();
      const { rows } = await held.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // listening first: the closed connection's 'end' can come before the terminating query's own reply is read
      const ended = new Promise((resolve) => held.once('end', resolve));
      // between two queries, as a transaction waiting on its caller would be
      await pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await ended;
      await expect(held.query('SELECT 1')).rejects.toThrow();
      held.release();
      const again = await own.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      expect(again.rows[0]!.pid).not.toBe(rows[0]!.pid);
      expect(poolErrors).toEqual([]);
    } finally {
      await own.end();
    }
  });

  it('an idle connection PostgreSQL closes is dropped without ending the process, before anything else listens', async () => {
    const own = createPgPool(testDatabaseUrl(), { maxConnections: 1, applicationName: 'idle-close-test' });
    try {
      const client = await own.connect();
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      client.release();
      const ended = new Promise((resolve) => client.once('end', resolve));
      await pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await ended;
      const again = await own.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      expect(again.rows[0]!.pid).not.toBe(rows[0]!.pid);
    } finally {
      await own.end();
    }
  });

  it('tells listeners when a checkout queues (not while a connection is idle or can be opened), after queueing it, and when it is ended', async () => {
    const own = createPgPool(testDatabaseUrl(), { maxConnections: 2, applicationName: 'exhausted-test' });
    const events: number[] = [];
    let held: PgPoolClient[] = [];
    let kept: PgPoolClient | undefined;
    const stop = watchPool(own, {
      exhausted: () => {
        events.push(own.waitingCount);
        // a listener that gives a connection back serves the checkout that queued
        held.shift()?.release();
      },
      // end() waits for checked-out connections: one kept by a listener goes back when told
      ending: () => {
        events.push(-1);
        kept?.release();
        kept = undefined;
      },
    });
    try {
      const a = await own.connect(); // opens one: no event
      a.release();
      held = [await own.connect(), await own.connect()]; // the idle one, then a second one opened: no event
      expect(events).toEqual([]);
      // a burst: both checked out, at the pool's size, so each checkout queues and is told once
      const queued = [own.connect(), own.connect()];
      expect(events).toEqual([1, 1]);
      expect(held).toEqual([]);
      const clients = await Promise.all(queued);
      for (const client of clients) expect((await client.query<{ n: number }>('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
      for (const client of clients) client.release();
      // pool.query checks out the same way: a connection is idle now, so no event
      await own.query('SELECT 1');
      expect(events).toEqual([1, 1]);
      kept = await own.connect();
      await own.end();
      expect(events).toEqual([1, 1, -1]);
      expect(own.totalCount).toBe(0);
    } finally {
      stop();
      if (!own.ending) await own.end();
    }
  });
});
