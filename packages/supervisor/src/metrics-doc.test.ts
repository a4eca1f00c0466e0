// The README's metric table is the supervisor's registry: same names, types, labels and meanings (see README "Metrics").
import { checkMetricTable } from '@mailroom/runtime/testing';
import { expect, test } from 'vitest';
import { createSupervisorMetrics } from './metrics.ts';

test('every supervisor metric is named mailroom_supervisor_… and documented in the README table as it is registered', async () => {
  const table = await checkMetricTable(createSupervisorMetrics().registry, 'supervisor');
  expect(table.foreign).toEqual([]);
  expect(table.registered).not.toBe('');
  expect(table.readme).toBe(table.registered);
});
