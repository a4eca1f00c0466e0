import { defineConfig } from 'vitest/config';

/**
 * The vitest settings every workspace shares: results for the root summary in .test-results/vitest.json, and (with a
 * database) one fresh migrated PostgreSQL database per run from @mailroom/db's global setup.
 */
export function workspaceTestConfig(opts: { database: boolean; testTimeoutMs?: number }) {
  return defineConfig({
    test: {
      globalSetup: opts.database ? ['@mailroom/db/testing/global-setup'] : [],
      testTimeout: opts.testTimeoutMs ?? 30_000,
      hookTimeout: Math.max(60_000, opts.testTimeoutMs ?? 0),
      reporters: ['default', ['json', { outputFile: '.test-results/vitest.json' }]],
    },
  });
}
