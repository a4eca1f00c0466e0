import { AuthThrottle, createPasswordHasher, sampleStoredHashParams } from '@mailroom/core';
import { argon2Params, createLogger, loadServerSecret, loadTlsMaterial, onShutdownSignal, sizeThreadPoolForArgon2 } from '@mailroom/runtime';
import { configFromEnv, databaseOptionsFromEnv, parsePop3Env } from './config.ts';
import { createPop3Store, openPop3Database } from './database.ts';
import { createPop3Metrics } from './metrics.ts';
import { createPop3Server } from './server.ts';

// argon2 verifies on libuv's thread pool: give it at least one thread per core (must be set before first use).
sizeThreadPoolForArgon2();

const env = parsePop3Env();
const logger = createLogger('pop3', env.LOG_LEVEL);

if (!env.DATABASE_URL) {
  logger.fatal('DATABASE_URL is required');
  process.exit(1);
}

const db = openPop3Database(env.DATABASE_URL, databaseOptionsFromEnv(env));
const { prisma } = db;
const hasher = createPasswordHasher(argon2Params(env));
// The dummy verification for unknown logins costs what the stored hashes cost, even after ARGON2_* changed.
await sampleStoredHashParams(prisma, hasher).catch((err: Error) => logger.warn({ err: err.message }, 'could not sample stored password hashes'));
const secret = await loadServerSecret(env.MAILROOM_SECRET, env.MAILROOM_DATA_DIR);
const store = createPop3Store(db, { hasher, throttle: new AuthThrottle(prisma, secret), requireAppPasswords: env.POP3_REQUIRE_APP_PASSWORDS });
const material = await loadTlsMaterial({
  certFile: env.TLS_CERT_FILE,
  keyFile: env.TLS_KEY_FILE,
  dataDir: env.MAILROOM_DATA_DIR,
  hostname: env.MAILROOM_PUBLIC_HOST ?? env.MAILROOM_HOST,
});
const config = configFromEnv(env);
const server = createPop3Server({
  store,
  config,
  logger,
  tls: material,
  metrics: createPop3Metrics({ defaultMetrics: true }),
});

onShutdownSignal(async () => {
  await server.close();
  await db.close();
}, logger);

try {
  const ports = await server.listen();
  logger.info({ host: config.host, ...ports, holder: server.holder }, 'listening');
} catch (err) {
  logger.fatal({ err }, 'could not listen');
  await db.close();
  process.exit(1);
}
