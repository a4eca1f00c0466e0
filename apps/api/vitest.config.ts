import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['@mailroom/db/testing/global-setup'],
    testTimeout: 30_000,
    reporters: ['default', ['json', { outputFile: '.test-results/vitest.json' }]],
    hookTimeout: 60_000,
  },
});
