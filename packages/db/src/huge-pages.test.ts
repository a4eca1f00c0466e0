import { afterAll, describe, expect, it } from 'vitest';
import { createPgPool } from './client.ts';
import { hugePagesAdvice, hugePagesReport } from './huge-pages.ts';
import { kernelHugePages, testDatabaseUrl } from './testing/index.ts';

const pool = createPgPool(testDatabaseUrl(), { maxConnections: 1 });
afterAll(() => pool.end());

describe('huge pages report', () => {
  it("reports what the server uses and what its shared memory would take, as the kernel's figures say", async () => {
    const report = await hugePagesReport(pool);
    const { rows } = await pool.query<{ mb: string }>(`SELECT current_setting('shared_memory_size') AS mb`);
    const sharedMib = Number(rows[0]!.mb.replace(/MB$/, ''));
    const kernel = await kernelHugePages();
    expect(report.needed).toBe(Math.ceil((sharedMib * 1024) / kernel.sizeKib));
    expect(report.setting).toBe('try'); // PostgreSQL's default, which the test cluster keeps
    // with no huge page reserved the server cannot be using them; with some, it depends on whether enough were free
    if (kernel.total === 0) expect(report.status).toBe('off');
    else expect(['on', 'off']).toContain(report.status);
  });

  it('advises reserving them only when the server would take them and found too few', () => {
    expect(hugePagesAdvice({ setting: 'try', status: 'off', needed: 88 })).toContain('vm.nr_hugepages=88');
    expect(hugePagesAdvice({ setting: 'try', status: 'on', needed: 88 })).toBeUndefined();
    // turned off by the operator: reserving pages would not change it
    expect(hugePagesAdvice({ setting: 'off', status: 'off', needed: 88 })).toBeUndefined();
    expect(hugePagesAdvice({ setting: 'try', status: 'unknown', needed: -1 })).toBeUndefined();
    expect(hugePagesAdvice({ setting: null, status: null, needed: null })).toBeUndefined();
  });
});
