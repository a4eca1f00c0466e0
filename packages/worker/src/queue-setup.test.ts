// The queue setup at start when PostgreSQL picks it as a deadlock's victim (replicas starting together, or another
// replica's pg-boss housekeeping on pgboss.queue and pgboss.job): tried again a bounded number of times. The deadlock is
// PostgreSQL's own error (SQLSTATE 40P01), raised by a trigger on pgboss.schedule that the setup writes to; a sequence
// counts the setup's writes, since it is not rolled back with them.
import type { PrismaClient } from '@mailroom/db';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { JOB_NAMES } from './config.ts';
import { testWorker, workerTestDatabase } from './testing/harness.ts';
import type { Worker } from './worker.ts';

let db: Awaited<ReturnType<typeof workerTestDatabase>>;
let prisma: PrismaClient;
const workers: Worker[] = [];
const onboarding = {
  mxHosts: [{ host: 'mx.mailroom.test', priority: 10 }],
  mtaStsMaxAgeSeconds: 604_800,
  dns: { servers: ['127.0.0.1:9'], timeoutMs: 200 },
};

beforeAll(async () => {
  db = await workerTestDatabase('worker_queue_setup');
  prisma = db.prisma;
  // pg-boss's schema and the queues, as a first start leaves them
  const first = testWorker(db.url, prisma, { onboarding });
  await first.start();
  await first.stop();
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await db?.drop();
});

/** The first `failing` writes of the setup to pgboss.schedule fail as a deadlock's victim would. */
async function deadlockFirstWrites(failing: number): Promise<() => Promise<number>> {
  await prisma.$executeRawUnsafe('DROP TRIGGER IF EXISTS deadlock_once ON pgboss.schedule');
  await prisma.$executeRawUnsafe('DROP SEQUENCE IF EXISTS deadlock_writes');
  await prisma.$executeRawUnsafe('CREATE SEQUENCE deadlock_writes');
  await prisma.$executeRawUnsafe(`
    CREATE OR REPLACE FUNCTION deadlock_once() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval('deadlock_writes') <= ${failing} THEN
        RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01';
      END IF;
      RETURN NEW;
    END $$`);
  await prisma.$executeRawUnsafe(
    'CREATE TRIGGER deadlock_once BEFORE INSERT ON pgboss.schedule FOR EACH ROW EXECUTE FUNCTION deadlock_once()',
  );
  return async () => (await prisma.$queryRaw<{ n: bigint }[]>`SELECT last_value AS n FROM deadlock_writes`)[0]!.n as unknown as number;
}

test('a setup chosen as a deadlock victim is tried again, and the worker starts', async () => {
  const writes = await deadlockFirstWrites(1);
  const worker = testWorker(db.url, prisma, { onboarding });
  workers.push(worker);
  await worker.start();
  // the first try failed at its first schedule; the second wrote every job's schedule
  expect(Number(await writes())).toBe(1 + JOB_NAMES.length);
  expect((await prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM pgboss.schedule`)[0]!.n).toBe(JOB_NAMES.length);
  await worker.stop();
});

test('a setup that keeps deadlocking fails the start after three tries, not forever', async () => {
  const writes = await deadlockFirstWrites(1_000);
  const worker = testWorker(db.url, prisma, { onboarding });
  workers.push(worker);
  await expect(worker.start()).rejects.toThrow(/deadlock detected/);
  expect(Number(await writes())).toBe(3);
});
