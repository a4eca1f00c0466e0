// The delivery-log.prune job through the real pg-boss queue: entries past DELIVERY_LOG_RETENTION_DAYS go, newer stay.
import { newId, type PrismaClient } from '@mailroom/db';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { loadWorkerEnv, workerConfigFromEnv } from './config.ts';
import { runThroughQueue, testWorker, workerTestDatabase } from './testing/harness.ts';
import type { Worker } from './worker.ts';

let db: Awaited<ReturnType<typeof workerTestDatabase>>;
let prisma: PrismaClient;
const workers: Worker[] = [];
const onboarding = {
  mxHosts: [{ host: 'mx.mailroom.test', priority: 10 }],
  mtaStsMaxAgeSeconds: 604_800,
  dns: { servers: ['127.0.0.1:9'], timeoutMs: 100 },
};

async function entry(daysAgo: number): Promise<string> {
  const at = new Date(Date.now() - daysAgo * 86_400_000);
  const id = newId(at);
  await prisma.deliveryLogEntry.create({
    data: {
      id,
      createdAt: at,
      result: 'refused',
      replyCode: 550,
      enhancedCode: '5.7.1',
      envelopeFrom: 'a@example.org',
      recipient: 'b@relay.example',
      clientAddress: '192.0.2.1',
      protocol: 'ESMTP',
      queueId: 'Q',
    },
  });
  return id;
}

describe('delivery-log.prune', () => {
  beforeAll(async () => {
    db = await workerTestDatabase('worker_dlog');
    prisma = db.prisma;
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });
  afterAll(async () => {
    await db?.drop();
  });

  test('deletes entries older than the retention, keeps newer ones, and is idempotent', async () => {
    const old = [await entry(31), await entry(400)];
    const kept = [await entry(29), await entry(0)];
    const w = testWorker(db.url, prisma, { onboarding, deliveryLogRetentionDays: 30 });
    workers.push(w);
    await w.start();
    expect(await runThroughQueue(w, 'delivery-log.prune')).toEqual({ pruned: 2 });
    expect(await prisma.deliveryLogEntry.count({ where: { id: { in: old } } })).toBe(0);
    expect(await prisma.deliveryLogEntry.count({ where: { id: { in: kept } } })).toBe(2);
    expect(await runThroughQueue(w, 'delivery-log.prune')).toEqual({ pruned: 0 });
  });

  test('DELIVERY_LOG_RETENTION_DAYS defaults to 30, is configurable and refuses nonsense', () => {
    const base = { DATABASE_URL: 'postgresql://x@127.0.0.1/x' };
    expect(workerConfigFromEnv(loadWorkerEnv(base)).deliveryLogRetentionDays).toBe(30);
    expect(workerConfigFromEnv(loadWorkerEnv({ ...base, DELIVERY_LOG_RETENTION_DAYS: '7' })).deliveryLogRetentionDays).toBe(7);
    expect(() => loadWorkerEnv({ ...base, DELIVERY_LOG_RETENTION_DAYS: '0' })).toThrow(/DELIVERY_LOG_RETENTION_DAYS/);
  });
});
