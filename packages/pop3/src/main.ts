import { AuthThrottle, createPasswordHasher, sampleStoredHashParams } from '@mailroom/core';
import { fileURLToPath } from 'node:url';
import {
  argon2Params,
  loadServerSecret,
  loadTlsMaterial,
  runService,
  sizeThreadPoolForArgon2,
  workspaceNodeFlags,
} from '@mailroom/runtime';
import { configFromEnv, databaseOptionsFromEnv, parsePop3Env } from './config.ts';
import { createPop3Store, openPop3Database } from './database.ts';
import { createPop3Metrics } from './metrics.ts';
import { createPop3Server } from './server.ts';

// argon2 verifies on libuv's thread pool: give it at least one thread per core (must be set before first use).
sizeThreadPoolForArgon2();

/** POP3 process entry (runService): parse the environment once, connect, listen, shut down gracefully. Never migrates. */
await runService({
  name: 'pop3',
  loadEnv: () => parsePop3Env(),
  // --no-memory-reducer: after an idle spell V8's memory reducer shrinks the heap, and the downloads that follow pay for
  // it in more collections (README, Benchmark, "After an idle spell")
  nodeFlags: workspaceNodeFlags(fileURLToPath(new URL('..', import.meta.url))),
  async build({ env, logger, onClose }) {
    const db = openPop3Database(env.DATABASE_URL, databaseOptionsFromEnv(env));
    onClose(() => db.close());
    const { prisma } = db;
    const hasher = createPasswordHasher(argon2Params(env));
    // The dummy verification for unknown logins costs what the stored hashes cost, even after ARGON2_* changed.
    await sampleStoredHashParams(prisma, hasher).catch((err: Error) =>
      logger.warn({ err: err.message }, 'could not sample stored password hashes'),
    );
    const secret = await loadServerSecret(env.MAILROOM_SECRET, env.MAILROOM_DATA_DIR);
    const store = createPop3Store(db, {
      hasher,
      throttle: new AuthThrottle(prisma, secret),
      requireAppPasswords: env.POP3_REQUIRE_APP_PASSWORDS,
    });
    const material = await loadTlsMaterial({
      certFile: env.TLS_CERT_FILE,
      keyFile: env.TLS_KEY_FILE,
      dataDir: env.MAILROOM_DATA_DIR,
      hostname: env.MAILROOM_PUBLIC_HOST ?? env.MAILROOM_HOST,
    });
    const config = configFromEnv(env);
    const server = createPop3Server({ store, config, logger, tls: material, metrics: createPop3Metrics({ defaultMetrics: true }) });
    return {
      listen: async () => ({ host: config.host, ...(await server.listen()), holder: server.holder }),
      close: () => server.close(),
    };
  },
});
