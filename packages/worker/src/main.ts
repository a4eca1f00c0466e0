import { createPrismaClient } from '@mailroom/db';
import { createLogger, loadEnvOrExit, loadServerSecret, onShutdownSignal } from '@mailroom/runtime';
import { loadWorkerEnv, workerConfigFromEnv } from './config.ts';
import { createWorker } from './worker.ts';

/** Worker process entry: parse the environment once, start the job queue and schedules, stop gracefully. Never migrates. */
async function main(): Promise<void> {
  const env = loadEnvOrExit('worker', () => loadWorkerEnv());
  const logger = createLogger('worker', env.LOG_LEVEL);
  if (!env.DATABASE_URL) {
    logger.fatal('DATABASE_URL is required (npm start provides it)');
    process.exit(1);
  }
  const config = workerConfigFromEnv(env);
  const prisma = createPrismaClient(env.DATABASE_URL, {
    maxConnections: Math.max(1, env.WORKER_DB_CONNECTIONS - config.queueConnections),
    applicationName: 'mailroom-worker',
  });
  // the same secret as the API's (MAILROOM_SECRET, or the data dir's secret.key): it decrypts webhook signing secrets
  const secret = await loadServerSecret(env.MAILROOM_SECRET, env.MAILROOM_DATA_DIR);
  const worker = createWorker({ prisma, logger, databaseUrl: env.DATABASE_URL, config, secret });
  onShutdownSignal(async () => {
    await worker.stop();
    await prisma.$disconnect();
    logger.info('stopped');
  }, logger);
  const ports = await worker.start();
  logger.info({ metricsHost: config.metricsHost, metricsPort: ports.metrics, schedules: config.schedules, mxHost: config.onboarding.mxHost }, 'listening');
}

main().catch((err: unknown) => {
  process.stderr.write(`mailroom worker failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
