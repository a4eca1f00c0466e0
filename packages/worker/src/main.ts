import { createPrismaClient } from '@mailroom/db';
import { loadServerSecret, runService } from '@mailroom/runtime';
import { loadWorkerEnv, workerConfigFromEnv } from './config.ts';
import { createWorker } from './worker.ts';

/** Worker process entry (runService): parse the environment once, start the job queue and schedules, stop gracefully. Never migrates. */
await runService({
  name: 'worker',
  loadEnv: () => loadWorkerEnv(),
  async build({ env, logger, onClose }) {
    const config = workerConfigFromEnv(env);
    const prisma = createPrismaClient(env.DATABASE_URL, {
      maxConnections: Math.max(1, env.WORKER_DB_CONNECTIONS - config.queueConnections),
      applicationName: 'mailroom-worker',
    });
    onClose(() => prisma.$disconnect());
    // the same secret as the API's (MAILROOM_SECRET, or the data dir's secret.key): it decrypts webhook signing secrets
    const secret = await loadServerSecret(env.MAILROOM_SECRET, env.MAILROOM_DATA_DIR);
    const worker = createWorker({ prisma, logger, databaseUrl: env.DATABASE_URL, config, secret });
    return {
      async listen() {
        const ports = await worker.start();
        return {
          metricsHost: config.metricsHost,
          metricsPort: ports.metrics,
          schedules: config.schedules,
          mxHosts: config.onboarding.mxHosts.map((h) => `${h.priority} ${h.host}`),
        };
      },
      close: () => worker.stop(),
    };
  },
});
