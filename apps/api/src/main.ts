/**
 * API server entry: parse the environment once, connect to PostgreSQL (DATABASE_URL, set by `npm start`), listen on
 * MAILROOM_HOST:API_PORT, log "listening", and shut down gracefully on SIGTERM/SIGINT. Never migrates.
 */
import { createPasswordHasher, sampleStoredHashParams } from '@mailroom/core';
import { createPrismaClient } from '@mailroom/db';
import { ConfigError, createLogger, loadServerSecret, onShutdownSignal, parseEnv, sizeThreadPoolForArgon2 } from '@mailroom/runtime';
import { buildApp } from './app.ts';
import { listenForCredentialChanges } from './credential-changes.ts';
import { apiEnvSchema, toApiConfig, type ApiEnv } from './config.ts';

// argon2 (logins, mailbox creation, CSV imports) runs on libuv's thread pool: one thread per core at least.
sizeThreadPoolForArgon2();

let env: ApiEnv;
try {
  env = parseEnv(apiEnvSchema);
  if (!env.DATABASE_URL) throw new ConfigError('invalid configuration:\n  DATABASE_URL: required (npm start sets it)');
} catch (err) {
  console.error(`mailroom-api: ${(err as Error).message}`);
  process.exit(2);
}

const logger = createLogger('api', env.LOG_LEVEL);
const config = toApiConfig(env);
const prisma = createPrismaClient(env.DATABASE_URL!, { maxConnections: env.API_DB_CONNECTIONS, applicationName: 'mailroom-api' });
// API keys are cached only while this feed hears every credential change (its own LISTEN connection, reconnecting).
const credentialChanges = listenForCredentialChanges(env.DATABASE_DIRECT_URL ?? env.DATABASE_URL!, logger);
await credentialChanges.ready().catch(() => undefined);
const secret = await loadServerSecret(env.MAILROOM_SECRET, env.MAILROOM_DATA_DIR);
const hasher = createPasswordHasher(config.argon2);
// The dummy verification for unknown accounts costs what the stored hashes cost, even after ARGON2_* changed.
await sampleStoredHashParams(prisma, hasher).catch((err: Error) => logger.warn({ err: err.message }, 'could not sample stored password hashes'));
const app = await buildApp({ prisma, config, hasher, secret, logger, credentialChanges });

onShutdownSignal(async () => {
  await app.close(); // stops accepting, lets in-flight requests finish
  await credentialChanges.close();
  await prisma.$disconnect();
  logger.info('stopped');
}, logger);

try {
  await app.listen({ host: env.MAILROOM_HOST, port: env.API_PORT });
  const address = app.server.address();
  logger.info({ host: env.MAILROOM_HOST, port: typeof address === 'object' && address ? address.port : env.API_PORT }, 'listening');
} catch (err) {
  logger.fatal({ err }, 'could not start the API');
  await prisma.$disconnect().catch(() => undefined);
  process.exit(1);
}
