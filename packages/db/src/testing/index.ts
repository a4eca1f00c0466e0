import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, withDatabase, type RunningPostgres } from '../embedded.ts';
import { applyMigrations } from '../migrate.ts';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Test helpers only ever touch a database on this machine (or a `postgres` compose service named explicitly). */
export function assertLocalDatabase(url: string): void {
  const host = new URL(url).hostname;
  if (!LOCAL_HOSTS.has(host) && process.env.MAILROOM_TEST_ALLOW_REMOTE_DB !== '1') {
    throw new Error(`refusing to run tests against non-local database host ${host}; set MAILROOM_TEST_ALLOW_REMOTE_DB=1 to override`);
  }
}

export interface TestServer {
  adminUrl: string;
  stop(): Promise<void>;
}

/**
 * The PostgreSQL server tests use: MAILROOM_TEST_PG_URL (an admin URL, set by the root test runner), else the server
 * of DATABASE_URL, else a private embedded cluster in a temporary directory (initdb takes about a second), stopped and
 * removed afterwards, so concurrent standalone runs never share, or stop, each other's server.
 */
export async function acquireTestServer(): Promise<TestServer> {
  const given =
    process.env.MAILROOM_TEST_PG_URL ?? (process.env.DATABASE_URL ? withDatabase(process.env.DATABASE_URL, 'postgres') : undefined);
  if (given) {
    assertLocalDatabase(given);
    return { adminUrl: given, stop: async () => undefined };
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-test-pg-'));
  let server: RunningPostgres;
  try {
    server = await startEmbeddedPostgres({ dataDir, port: 0 });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    adminUrl: server.adminUrl,
    async stop() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates an empty, migrated database with a unique name; returns its URL and a function that drops it. */
export async function createTestDatabase(adminUrl: string, label = 'test'): Promise<{ url: string; drop(): Promise<void> }> {
  assertLocalDatabase(adminUrl);
  const name = `mailroom_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  await applyMigrations(url);
  return {
    url,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** The database URL inside a test worker (set by {@link vitestGlobalSetup}). */
export function testDatabaseUrl(): string {
  const url = process.env.MAILROOM_TEST_DATABASE_URL;
  if (!url) throw new Error('MAILROOM_TEST_DATABASE_URL is not set: add @mailroom/db/testing/global-setup to vitest globalSetup');
  return url;
}

/** Unique, readable names for test data, so test files can share one database and run in parallel. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}
export { findFreePort } from '../embedded.ts';
