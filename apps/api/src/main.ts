/**
 * API server entry: parse the environment once, connect to PostgreSQL (DATABASE_URL, set by `npm start`), listen on
 * MAILROOM_HOST:API_PORT, log "listening", and shut down gracefully on SIGTERM/SIGINT (runService). Never migrates.
 */
import { createPasswordHasher, sampleStoredHashParams } from '@mailroom/core';
import { createPrismaClient } from '@mailroom/db';
import { loadServerSecret, parseEnv, runService, sizeThreadPoolForArgon2 } from '@mailroom/runtime';
import { buildApp } from './app.ts';
import { apiEnvSchema, toApiConfig } from './config.ts';
import { listenForCredentialChanges } from './credential-changes.ts';

// argon2 (logins, mailbox creation, CSV imports) runs on libuv's thread pool: one thread per core at least.
sizeThreadPoolForArgon2();

await runService({
  name: 'api',
  loadEnv: () => parseEnv(apiEnvSchema),
  configExitCode: 2,
  async build({ env, logger, onClose }) {
    const config = toApiConfig(env);
    const prisma = createPrismaClient(env.DATABASE_URL, { maxConnections: env.API_DB_CONNECTIONS, applicationName: 'mailroom-api' });
    onClose(() => prisma.$disconnect());
    // API keys are cached only while this feed hears every credential change (its own LISTEN connection, reconnecting).
    const credentialChanges = listenForCredentialChanges(env.DATABASE_DIRECT_URL ?? env.DATABASE_URL, logger);
    onClose(() => credentialChanges.close());
    await credentialChanges.ready().catch(() => undefined);
    const secret = await loadServerSecret(env.MAILROOM_SECRET, env.MAILROOM_DATA_DIR);
    const hasher = createPasswordHasher(config.argon2);
    // The dummy verification for unknown accounts costs what the stored hashes cost, even after ARGON2_* changed.
    await sampleStoredHashParams(prisma, hasher).catch((err: Error) =>
      logger.warn({ err: err.message }, 'could not sample stored password hashes'),
    );
    const app = await buildApp({ prisma, config, hasher, secret, logger, credentialChanges });
    return {
      async listen() {
        await app.listen({ host: env.MAILROOM_HOST, port: env.API_PORT });
        const address = app.server.address();
        return { host: env.MAILROOM_HOST, port: typeof address === 'object' && address ? address.port : env.API_PORT };
      },
      close: () => app.close(), // stops accepting, lets in-flight requests finish
    };
  },
});
