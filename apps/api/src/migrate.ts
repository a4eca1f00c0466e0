/**
 * One-shot deployment step (docker-compose's `migrate` service: `node apps/api/dist/migrate.mjs` in the api image, or
 * `npx tsx apps/api/src/migrate.ts` by hand): applies migrations to DATABASE_URL and creates the first admin when none
 * exists. `npm start` does the same itself.
 */
import { z } from 'zod';
import { bootstrapAdmin, createPasswordHasher } from '@mailroom/core';
import { applyMigrations, createPgPool, logHugePagesAdvice, createPrismaClient } from '@mailroom/db';
import { argon2Params, baseEnvSchema, createLogger, optionalStringSchema, parseEnv } from '@mailroom/runtime';

const env = parseEnv(
  baseEnvSchema.extend({
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL'),
    MAILROOM_ADMIN_EMAIL: optionalStringSchema.pipe(z.string().email().optional()),
    MAILROOM_ADMIN_PASSWORD: optionalStringSchema,
  }),
);
const log = createLogger('mailroom-migrate', env.LOG_LEVEL);
const result = await applyMigrations(env.DATABASE_URL);
log.info(result, 'migrations applied');
// the operator's one look at the deployment's start: PostgreSQL could keep its shared memory in huge pages and does not
const pool = createPgPool(env.DATABASE_URL, { maxConnections: 1, applicationName: 'mailroom-migrate' });
await logHugePagesAdvice(pool, log).finally(() => pool.end());
if (env.MAILROOM_ADMIN_EMAIL) {
  const prisma = createPrismaClient(env.DATABASE_URL, { maxConnections: 1 });
  try {
    const admin = await bootstrapAdmin(prisma, createPasswordHasher(argon2Params(env)), {
      email: env.MAILROOM_ADMIN_EMAIL,
      password: env.MAILROOM_ADMIN_PASSWORD,
    });
    if (admin.created && admin.generatedPassword)
      process.stdout.write(`First admin ${admin.email}, generated password (shown once): ${admin.generatedPassword}\n`);
  } finally {
    await prisma.$disconnect();
  }
}
