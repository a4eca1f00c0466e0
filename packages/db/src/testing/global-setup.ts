import { acquireTestServer, createTestDatabase } from './index.ts';

/**
 * Vitest globalSetup: one fresh, migrated database per test run of a workspace, dropped afterwards.
 * Workers (and child processes they spawn) read it from MAILROOM_TEST_DATABASE_URL.
 */
export default async function setup() {
  const server = await acquireTestServer();
  const db = await createTestDatabase(server.adminUrl, process.env.npm_package_name?.replace('@mailroom/', '') ?? 'test');
  process.env.MAILROOM_TEST_DATABASE_URL = db.url;
  process.env.MAILROOM_TEST_PG_URL ??= server.adminUrl;
  return async () => {
    await db.drop().catch(() => undefined);
    await server.stop();
  };
}
