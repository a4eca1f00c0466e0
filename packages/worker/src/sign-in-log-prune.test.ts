// The sign-in-log.prune job through the real pg-boss queue: sign-ins past SIGN_IN_LOG_RETENTION_DAYS go, newer stay,
// in both logs (mailboxes' and panel users').
import { newId, type PrismaClient } from '@mailroom/db';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { loadWorkerEnv, workerConfigFromEnv } from './config.ts';
import { runThroughQueue, testWorker, workerTestDatabase } from './testing/harness.ts';
import type { Worker } from './worker.ts';

let db: Awaited<ReturnType<typeof workerTestDatabase>>;
let prisma: PrismaClient;
let mailboxId: string;
let ownerId: string;
const workers: Worker[] = [];
const onboarding = {
  mxHosts: [{ host: 'mx.mailroom.test', priority: 10 }],
  mtaStsMaxAgeSeconds: 604_800,
  dns: { servers: ['127.0.0.1:9'], timeoutMs: 100 },
};

async function signIn(daysAgo: number): Promise<string> {
  const at = new Date(Date.now() - daysAgo * 86_400_000);
  const id = newId(at);
  await prisma.mailboxSignIn.create({
    data: {
      id,
      createdAt: at,
      mailboxId,
      service: 'pop3',
      result: 'wrong_password',
      clientAddress: '192.0.2.1',
      tls: true,
      mechanism: 'USER',
    },
  });
  return id;
}

async function userSignIn(daysAgo: number): Promise<string> {
  const at = new Date(Date.now() - daysAgo * 86_400_000);
  const id = newId(at);
  await prisma.userSignIn.create({
    data: { id, createdAt: at, userId: ownerId, result: 'wrong_password', clientAddress: '192.0.2.2', mechanism: 'password' },
  });
  return id;
}

describe('sign-in-log.prune', () => {
  beforeAll(async () => {
    db = await workerTestDatabase('worker_signins');
    prisma = db.prisma;
    const owner = await prisma.user.create({ data: { email: 'owner@signins.example', passwordHash: 'x', role: 'OWNER' } });
    ownerId = owner.id;
    const domain = await prisma.domain.create({ data: { name: 'signins.example', ownerId: owner.id, verifiedAt: new Date() } });
    mailboxId = (await prisma.mailbox.create({ data: { id: newId(), domainId: domain.id, localPart: 'anna', passwordHash: 'x' } })).id;
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });
  afterAll(async () => {
    await db?.drop();
  });

  test('deletes sign-ins older than the retention, keeps newer ones, and is idempotent', async () => {
    const old = [await signIn(8), await signIn(400)];
    const kept = [await signIn(6), await signIn(0)];
    const oldUser = [await userSignIn(9)];
    const keptUser = [await userSignIn(5), await userSignIn(0)];
    const w = testWorker(db.url, prisma, { onboarding, signInLogRetentionDays: 7 });
    workers.push(w);
    await w.start();
    expect(await runThroughQueue(w, 'sign-in-log.prune')).toEqual({ pruned: 3 });
    expect(await prisma.mailboxSignIn.count({ where: { id: { in: old } } })).toBe(0);
    expect(await prisma.mailboxSignIn.count({ where: { id: { in: kept } } })).toBe(2);
    expect(await prisma.userSignIn.count({ where: { id: { in: oldUser } } })).toBe(0);
    expect(await prisma.userSignIn.count({ where: { id: { in: keptUser } } })).toBe(2);
    expect(await runThroughQueue(w, 'sign-in-log.prune')).toEqual({ pruned: 0 });
    expect((await w.metrics.registry.getSingleMetric('mailroom_worker_sign_in_log_pruned_total')?.get())?.values[0]?.value).toBe(3);
  });

  test('SIGN_IN_LOG_RETENTION_DAYS defaults to 30, is configurable and refuses nonsense', () => {
    const base = { DATABASE_URL: 'postgresql://x@127.0.0.1/x' };
    expect(workerConfigFromEnv(loadWorkerEnv(base)).signInLogRetentionDays).toBe(30);
    expect(workerConfigFromEnv(loadWorkerEnv({ ...base, SIGN_IN_LOG_RETENTION_DAYS: '7' })).signInLogRetentionDays).toBe(7);
    expect(() => loadWorkerEnv({ ...base, SIGN_IN_LOG_RETENTION_DAYS: '0' })).toThrow(/SIGN_IN_LOG_RETENTION_DAYS/);
    expect(() => loadWorkerEnv({ ...base, SIGN_IN_LOG_RETENTION_DAYS: '3651' })).toThrow(/SIGN_IN_LOG_RETENTION_DAYS/);
    expect(workerConfigFromEnv(loadWorkerEnv(base)).schedules['sign-in-log.prune']).toBe('45 * * * *');
  });
});
