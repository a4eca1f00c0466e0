import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client.ts';

export { PrismaClient, Prisma } from './generated/prisma/client.ts';
export type * from './generated/prisma/client.ts';

export interface CreatePrismaClientOptions {
  /** Maximum pooled connections for this client. */
  maxConnections?: number;
  /** Name shown in pg_stat_activity. */
  applicationName?: string;
}

/** Builds a Prisma client over the `pg` driver adapter. The caller owns it and must `$disconnect()`. */
export function createPrismaClient(connectionString: string, options: CreatePrismaClientOptions = {}): PrismaClient {
  const adapter = new PrismaPg({
    connectionString,
    max: options.maxConnections ?? 10,
    application_name: options.applicationName ?? 'mailroom',
  });
  return new PrismaClient({ adapter });
}
