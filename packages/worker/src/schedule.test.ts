// Two workers on one database, the schedule firing every minute: each slot runs once, whichever replica takes it.
import type { PrismaClient } from '@mailroom/db';
import { uniqueName } from '@mailroom/db/testing';
import { eventually } from '@mailroom/runtime/testing';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createOwner, NEVER, testWorker, workerTestDatabase } from './testing/harness.ts';
import type { Worker } from './worker.ts';

let db: Awaited<ReturnType<typeof workerTestDatabase>>;
let prisma: PrismaClient;
const workers: Worker[] = [];

beforeAll(async () => {
  db = await workerTestDatabase('worker_schedule');
  prisma = db.prisma;
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await db?.drop();
});

const dbSecondOfMinute = async () => (await prisma.$queryRaw<{ s: number }[]>`SELECT extract(second FROM now())::float8 AS s`)[0]!.s;
const completedRuns = async () =>
  (
    await prisma.$queryRaw<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'domains.prune-claims' AND state = 'completed'`
  )[0]!.n;

test('two workers on one database run a scheduled job once per slot (pg-boss schedule singleton)', { timeout: 120_000 }, async () => {
  const ownerId = await createOwner(prisma);
  const expired = await prisma.domain.create({
    data: { name: `${uniqueName('e')}.example.test`, ownerId, verificationToken: 'x', claimExpiresAt: new Date(Date.now() - 1_000) },
  });
  // Start early in a minute, so the whole observation stays within one slot of the every-minute schedule.
  await eventually(async () => (await dbSecondOfMinute()) < 30, 2_000);
  const onboarding = {
    mxHosts: [{ host: 'mx.mailroom.test', priority: 10 }],
    mtaStsMaxAgeSeconds: 604_800,
    dns: { servers: ['127.0.0.1:9'], timeoutMs: 200 },
  };
  const schedules = {
    'domains.recheck': NEVER,
    'domains.prune-claims': '* * * * *',
    'messages.expire': NEVER,
    'delivery-log.prune': NEVER,
    'sign-in-log.prune': NEVER,
  };
  for (let i = 0; i < 2; i++) workers.push(testWorker(db.url, prisma, { onboarding, schedules }));
  await Promise.all(workers.map((w) => w.start()));

  await eventually(async () => (await completedRuns()) >= 1, 800);
  // Both workers evaluate the schedule every second: give them several more rounds within the same minute.
  await new Promise((r) => setTimeout(r, 6_000));
  expect(await dbSecondOfMinute()).toBeLessThan(59);
  expect(await completedRuns()).toBe(1);
  const runs = workers.map(
    async (w) => (await w.metrics.jobs.get()).values.find((v) => v.labels.job === 'domains.prune-claims')?.value ?? 0,
  );
  expect((await Promise.all(runs)).reduce((a, b) => a + b, 0)).toBe(1);
  expect(await prisma.domain.count({ where: { id: expired.id } })).toBe(0);
  expect(await prisma.auditEvent.count({ where: { action: 'domain.claim_expired', targetId: expired.id } })).toBe(1);
  // what the operator set is what pg-boss stores (the last replica to start decides)
  const stored = await prisma.$queryRaw<{ name: string; cron: string }[]>`SELECT name, cron FROM pgboss.schedule ORDER BY name`;
  expect(stored).toEqual([
    { name: 'delivery-log.prune', cron: NEVER },
    { name: 'domains.prune-claims', cron: '* * * * *' },
    { name: 'domains.recheck', cron: NEVER },
    { name: 'messages.expire', cron: NEVER },
    { name: 'sign-in-log.prune', cron: NEVER },
  ]);
});
