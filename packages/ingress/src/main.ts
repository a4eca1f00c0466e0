import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { createPrismaClient } from '@mailroom/db';
import { loadTlsMaterial, runService, workspaceNodeFlags } from '@mailroom/runtime';
import { ingressConfigFromEnv, loadIngressEnv } from './config.ts';
import { createIngress } from './server.ts';

/** Ingress process entry (runService): parse the environment once, connect, listen, shut down gracefully. Never migrates. */
await runService({
  name: 'ingress',
  loadEnv: () => loadIngressEnv(),
  // --initial-old-space-size: without a floor under the old generation's limit, V8 marks the whole heap again and again
  // through each burst of large messages after an idle spell (README, "1 MB ingest", item 26)
  nodeFlags: workspaceNodeFlags(fileURLToPath(new URL('..', import.meta.url))),
  async build({ env, logger, onClose }) {
    const prisma = createPrismaClient(env.DATABASE_URL, {
      maxConnections: env.INGRESS_DB_CONNECTIONS,
      applicationName: 'mailroom-ingress',
    });
    onClose(() => prisma.$disconnect());
    const config = ingressConfigFromEnv(env, os.hostname());
    const tls = env.INGRESS_SMTP_ENABLED
      ? await loadTlsMaterial({
          certFile: env.TLS_CERT_FILE,
          keyFile: env.TLS_KEY_FILE,
          dataDir: env.MAILROOM_DATA_DIR,
          hostname: env.MAILROOM_PUBLIC_HOST ?? env.MAILROOM_HOST,
        })
      : undefined;
    if (tls?.selfSigned)
      logger.warn(
        { certFile: tls.certFile },
        'SMTP STARTTLS uses a self-signed certificate; set TLS_CERT_FILE/TLS_KEY_FILE for production',
      );
    const ingress = createIngress({ prisma, logger, config, tls: tls ? { cert: tls.cert, key: tls.key } : undefined });
    return {
      async listen() {
        const ports = await ingress.listen();
        return {
          host: config.host,
          lmtpHost: config.lmtpHost,
          metricsHost: config.metricsHost,
          lmtpPort: ports.lmtp,
          smtpPort: ports.smtp,
          metricsPort: ports.metrics,
          maxMessageBytes: config.maxMessageBytes,
        };
      },
      close: () => ingress.close(),
    };
  },
});
