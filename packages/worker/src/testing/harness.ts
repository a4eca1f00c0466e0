import { createPrismaClient, type PrismaClient } from '@mailroom/db';
import { createTestDatabase, uniqueName } from '@mailroom/db/testing';
import { createLogger } from '@mailroom/runtime';
import { eventually } from '@mailroom/runtime/testing';
import { DEFAULT_WORKER_CONFIG, type JobName, type WorkerConfig } from '../config.ts';
import { createWorker, type Worker, type WorkerDeps } from '../worker.ts';

/** The server secret test workers decrypt webhook signing secrets with (the API of a test must use the same). */
export const TEST_SERVER_SECRET = 'worker-test-secret-worker-test-secret';

/** Never fires within a test run (midnight of 1 January), for a job a test does not schedule. */
export const NEVER = '0 0 1 1 *';

/** A database of its own per test file: each file's workers take only its own queue's jobs. */
export async function workerTestDatabase(label: string): Promise<{ url: string; prisma: PrismaClient; drop(): Promise<void> }> {
  const adminUrl = process.env.MAILROOM_TEST_PG_URL;
  if (!adminUrl) throw new Error('MAILROOM_TEST_PG_URL is not set: add @mailroom/db/testing/global-setup to vitest globalSetup');
  const db = await createTestDatabase(adminUrl, label);
  const prisma = createPrismaClient(db.url, { maxConnections: 4, applicationName: 'worker-test' });
  return {
    url: db.url,
    prisma,
    async drop() {
      await prisma.$disconnect();
      await db.drop();
    },
  };
}

/** A worker on port 0 that polls fast; schedules default to never, so only what a test sends runs. */
export function testWorker(
  url: string,
  prisma: PrismaClient,
  config: Partial<WorkerConfig> & Pick<WorkerConfig, 'onboarding'>,
  deps: Partial<WorkerDeps> = {},
): Worker {
  return createWorker({
    prisma,
    databaseUrl: url,
    logger: createLogger('worker-test', (process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent'),
    config: {
      ...DEFAULT_WORKER_CONFIG,
      metricsPort: 0,
      pollingIntervalSeconds: 0.5,
      cronMonitorIntervalSeconds: 1,
      schedules: {
        'domains.recheck': NEVER,
        'domains.prune-claims': NEVER,
        'messages.expire': NEVER,
        'delivery-log.prune': NEVER,
        'sign-in-log.prune': NEVER,
      },
      ...config,
    },
    secret: TEST_SERVER_SECRET,
    ...deps,
  });
}

/** Sends one run through the queue and waits until a worker finished it; returns its output. */
export async function runThroughQueue(worker: Worker, name: JobName): Promise<Record<string, unknown>> {
  const id = await worker.runNow(name);
  if (!id) throw new Error(`a run of ${name} is already waiting`);
  let job: Awaited<ReturnType<Worker['getJob']>> = null;
  await eventually(async () => {
    job = await worker.getJob(name, id);
    return job?.state === 'completed' || job?.state === 'failed';
  }, 800);
  const done = job as unknown as { state: string; output: Record<string, unknown> };
  if (done.state !== 'completed') throw new Error(`${name} ${done.state}: ${JSON.stringify(done.output)}`);
  return done.output;
}

export async function createOwner(prisma: PrismaClient): Promise<string> {
  const owner = await prisma.user.create({ data: { email: `${uniqueName('owner')}@example.com`, passwordHash: 'x', role: 'OWNER' } });
  return owner.id;
}
