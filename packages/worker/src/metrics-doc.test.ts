// The README's metric table is this service's registry: same names, types, labels and meanings (see README "Metrics").
import { checkMetricTable } from '@mailroom/runtime/testing';
import { expect, test } from 'vitest';
import { createWorkerMetrics } from './metrics.ts';

test('every worker metric is named mailroom_worker_… and documented in the README table as it is registered', async () => {
  const table = await checkMetricTable(createWorkerMetrics().registry, 'worker');
  expect(table.foreign).toEqual([]);
  expect(table.registered).not.toBe('');
  expect(table.readme).toBe(table.registered);
});
