// The README's metric table is the API's registry: same names, types, labels and meanings (see README "Metrics").
import { checkMetricTable } from '@mailroom/runtime/testing';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestApp, type TestContext } from './testing.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

test('every api metric is named mailroom_api_… and documented in the README table as it is registered', async () => {
  const table = await checkMetricTable(t.app.metricsRegistry, 'api');
  expect(table.foreign).toEqual([]);
  expect(table.registered).not.toBe('');
  expect(table.readme).toBe(table.registered);
  // the standard default metrics are there under their usual names
  expect((await t.app.inject('/metrics')).body).toMatch(/^process_cpu_user_seconds_total /m);
});
