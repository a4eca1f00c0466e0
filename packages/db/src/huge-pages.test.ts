import { afterAll, describe, expect, it } from 'vitest';
import { createPgPool } from './client.ts';
import { hugePagesAdvice, hugePagesReport, selectedThpMode, SHMEM_THP_FILE, shmemThpMode } from './huge-pages.ts';
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

  it('offers transparent huge pages for shared memory only where the kernel has the setting and it is off', () => {
    const off = { setting: 'try', status: 'off', needed: 88 };
    for (const mode of ['never', 'advise', 'deny']) {
      const advice = hugePagesAdvice(off, mode);
      expect(advice, mode).toContain('vm.nr_hugepages=88');
      expect(advice, mode).toContain(`echo within_size > ${SHMEM_THP_FILE}; now ${mode}`);
    }
    // PostgreSQL's 4 KiB-mapped memory is already in transparent huge pages: status off, nothing to advise
    for (const mode of ['always', 'within_size', 'force']) expect(hugePagesAdvice(off, mode), mode).toBeUndefined();
    // no such setting (not Linux, or a kernel without it): reserved pages only
    expect(hugePagesAdvice(off, null)).toContain('vm.nr_hugepages=88');
    expect(hugePagesAdvice(off, null)).not.toContain('transparent');
    // an operator who turned huge pages off, or a server already in reserved ones, gets nothing either way
    expect(hugePagesAdvice({ ...off, setting: 'off' }, 'never')).toBeUndefined();
    expect(hugePagesAdvice({ ...off, status: 'on' }, 'never')).toBeUndefined();
  });

  it("reads the kernel's selected mode, as Linux writes the file", async () => {
    expect(selectedThpMode('always within_size advise [never] deny force\n')).toBe('never');
    expect(selectedThpMode('[always] within_size advise never deny force\n')).toBe('always');
    expect(selectedThpMode('always [within_size] advise never deny force')).toBe('within_size');
    expect(selectedThpMode('always within_size advise never')).toBeNull();
    expect(await shmemThpMode('/nonexistent/shmem_enabled')).toBeNull();
    const mode = await shmemThpMode();
    if (process.platform === 'linux' && mode !== null) {
      expect(['always', 'within_size', 'advise', 'never', 'deny', 'force']).toContain(mode);
    }
  });
});
