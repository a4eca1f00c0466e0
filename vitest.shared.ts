import { defineConfig } from 'vitest/config';

/**
 * The vitest settings every workspace shares: results for the root summary in .test-results/vitest.json, and (with a
 * database) one fresh migrated PostgreSQL database per run from @mailroom/db's global setup.
 */
export function workspaceTestConfig(opts: { database: boolean; testTimeoutMs?: number }) {
  return defineConfig({
    test: {
      globalSetup: opts.database ? ['@mailroom/db/testing/global-setup'] : [],
      // A workspace's files run one after another in one worker (2 cores), and without isolation they share its loaded
      // modules instead of importing the app, Prisma's client and zod's schemas again for each file: the API's suite
      // took 95 s instead of 214 s on an idle machine, POP3's 83 s instead of 108. Tests therefore leave nothing
      // global behind (no vi.mock, process.env restored, servers and pools closed in afterAll), as they already did.
      isolate: false,
      testTimeout: opts.testTimeoutMs ?? 30_000,
      hookTimeout: Math.max(60_000, opts.testTimeoutMs ?? 0),
      reporters: ['default', ['json', { outputFile: '.test-results/vitest.json' }]],
    },
  });
}
