/**
 * What the API benchmarks (run.ts, import.ts) stand on: a database of their own on the test PostgreSQL holding one owner,
 * one verified domain and the owner's API key, and the line that says which machine the figures come from.
 */
import os from 'node:os';
import { createApiKey, createPasswordHasher, DEFAULT_ARGON2_PARAMS, type PasswordHasher } from '@mailroom/core';
import { createPrismaClient, type PrismaClient } from '@mailroom/db';
import { acquireTestServer, createTestDatabase } from '@mailroom/db/testing';

export interface BenchFixture {
  prisma: PrismaClient;
  /** argon2id at the operator default parameters (DEFAULT_ARGON2_PARAMS), as the API under test hashes. */
  hasher: PasswordHasher;
  owner: { id: string };
  domain: { id: string; name: string };
  /** The owner's API key, scope mailboxes:write. */
  key: string;
}

/**
 * Opens a fresh database `database` (its client named `applicationName`) holding an owner, a verified domain named
 * `<domainPrefix><now>.example` and the owner's API key. `close()` disconnects, drops the database and stops the server.
 */
export async function openBenchFixture(names: {
  database: string;
  applicationName: string;
  domainPrefix: string;
}): Promise<BenchFixture & { close(): Promise<void> }> {
  const server = await acquireTestServer();
  const db = await createTestDatabase(server.adminUrl, names.database);
  const prisma = createPrismaClient(db.url, { maxConnections: 10, applicationName: names.applicationName });
  const hasher = createPasswordHasher(DEFAULT_ARGON2_PARAMS);
  const close = async () => {
    await prisma.$disconnect();
    await db.drop().catch(() => undefined);
    await server.stop();
  };
  try {
    const owner = await prisma.user.create({
      data: { email: `bench-${Date.now()}@example.com`, passwordHash: await hasher.hash('bench owner passphrase'), role: 'OWNER' },
    });
    const domain = await prisma.domain.create({
      data: { name: `${names.domainPrefix}${Date.now()}.example`, ownerId: owner.id, verifiedAt: new Date() },
    });
    const { key } = await createApiKey(
      prisma,
      { principal: { kind: 'system', label: 'bench' } },
      { userId: owner.id, name: 'bench', scopes: ['mailboxes:write'] },
    );
    return { prisma, hasher, owner, domain, key, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Cores, CPU model and load average: the 2 cores are shared, so every figure is read beside this. */
export function describeMachine(): string {
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  return `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}), load average ${load}`;
}
