import os from 'node:os';
import { createPrismaClient } from '@mailroom/db';
import { createLogger, loadEnvOrExit, loadTlsMaterial, onShutdownSignal } from '@mailroom/runtime';
import { ingressConfigFromEnv, loadIngressEnv } from './config.ts';
import { createIngress } from './server.ts';

/** Ingress process entry: parse the environment once, connect, listen, shut down gracefully. Never migrates. */
async function main(): Promise<void> {
  const env = loadEnvOrExit('ingress', () => loadIngressEnv());
  const logger = createLogger('ingress', env.LOG_LEVEL);
  if (!env.DATABASE_URL) {
    logger.fatal('DATABASE_URL is required (npm start provides it)');
    process.exit(1);
  }
  const prisma = createPrismaClient(env.DATABASE_URL, { maxConnections: env.INGRESS_DB_CONNECTIONS, applicationName: 'mailroom-ingress' });
  const config = ingressConfigFromEnv(env, os.hostname());
  const tls = env.INGRESS_SMTP_ENABLED
    ? await loadTlsMaterial({ certFile: env.TLS_CERT_FILE, keyFile: env.TLS_KEY_FILE, dataDir: env.MAILROOM_DATA_DIR, hostname: env.MAILROOM_PUBLIC_HOST ?? env.MAILROOM_HOST })
    : undefined;
  if (tls?.selfSigned) logger.warn({ certFile: tls.certFile }, 'SMTP STARTTLS uses a self-signed certificate; set TLS_CERT_FILE/TLS_KEY_FILE for production');
  const ingress = createIngress({ prisma, logger, config, tls: tls ? { cert: tls.cert, key: tls.key } : undefined });
  const ports = await ingress.listen();
  logger.info({ host: config.host, lmtpHost: config.lmtpHost, metricsHost: config.metricsHost, lmtpPort: ports.lmtp, smtpPort: ports.smtp, metricsPort: ports.metrics, maxMessageBytes: config.maxMessageBytes }, 'listening');
  onShutdownSignal(async () => {
    await ingress.close();
    await prisma.$disconnect();
    logger.info('stopped');
  }, logger);
}

main().catch((err: unknown) => {
  process.stderr.write(`mailroom ingress failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
