/** What every CLI command shares: usage errors, the environment, and a database connection for one command. */
import { DEFAULT_PASSWORD_MIN_LENGTH, type Actor } from '@mailroom/core';
import { createPrismaClient, openDatabase, type PrismaClient } from '@mailroom/db';
import { baseEnvSchema, parseEnv } from '@mailroom/runtime';
import { z } from 'zod';

export const cliEnvSchema = baseEnvSchema.extend({
  PASSWORD_MIN_LENGTH: z.coerce.number().int().min(6).max(128).default(DEFAULT_PASSWORD_MIN_LENGTH),
});

/** Who the CLI's changes are audited as: the operator at the machine. */
export const CLI_ACTOR: Actor = { principal: { kind: 'system', label: 'cli' } };

/** A mistake in the command line: printed with exit code 2. */
export class UsageError extends Error {}

export async function withDatabase<T>(fn: (prisma: PrismaClient, env: z.infer<typeof cliEnvSchema>) => Promise<T>): Promise<T> {
  const env = parseEnv(cliEnvSchema);
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.MAILROOM_DATA_DIR, migrate: true });
  const prisma = createPrismaClient(db.url, { maxConnections: 2, applicationName: 'mailroom-cli' });
  try {
    return await fn(prisma, env);
  } finally {
    await prisma.$disconnect();
    await db.close();
  }
}
