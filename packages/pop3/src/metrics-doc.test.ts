// The README's metric table is this service's registry: same names, types, labels and meanings (see README "Metrics").
import { checkMetricTable } from '@mailroom/runtime/testing';
import { expect, test } from 'vitest';
import { createPop3Metrics } from './metrics.ts';

test('every pop3 metric is named mailroom_pop3_… and documented in the README table as it is registered', async () => {
  const table = await checkMetricTable(createPop3Metrics({ defaultMetrics: true }).registry, 'pop3');
  expect(table.foreign).toEqual([]);
  expect(table.registered).not.toBe('');
  expect(table.readme).toBe(table.registered);
});
