import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readCounts } from '../../../scripts/test-results.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

// `npm test` closes with the failed tests' names, read from the reports vitest and Playwright write. A CI log keeps
// only its tail, so without them a failure in a 20-minute run cannot be told from its log. These run the real tools on
// a suite with one passing and one failing test, and read what they wrote.
describe("npm test's summary (scripts/test-results.ts)", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function fixture(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mr-summary-'));
    dirs.push(dir);
    await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
    return dir;
  }

  function run(dir: string, bin: string, args: string[]): void {
    const r = spawnSync(path.join(ROOT, 'node_modules/.bin', bin), args, {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, FORCE_COLOR: '1', CI: '' },
    });
    expect(r.status, `${bin} exits non-zero on a failing test: ${r.stdout}${r.stderr}`).toBe(1);
  }

  it("names each failed vitest test, with its error's first line, and a file that failed outside a test", async () => {
    const dir = await fixture({
      'package.json': '{"type":"module"}',
      'a.test.ts': [
        "import { describe, expect, it } from 'vitest';",
        "describe('group', () => {",
        "  it('passes', () => expect(1).toBe(1));",
        "  it('breaks', () => expect('got').toBe('wanted'));",
        '});',
      ].join('\n'),
      'b.test.ts': "import './no-such-module.ts';\nimport { it } from 'vitest';\nit('never runs', () => {});",
    });
    run(dir, 'vitest', ['run', '--reporter=json', '--outputFile=.test-results/vitest.json']);
    const c = readCounts(dir);
    expect(c).toMatchObject({ passed: 1, failed: 1, skipped: 0 });
    expect(c?.failures).toHaveLength(2);
    expect(c?.failures[0]).toMatch(/^a\.test\.ts > group breaks: .*expected 'got' to be 'wanted'/);
    expect(c?.failures[0]).not.toContain('\u001b'); // colour codes stripped
    expect(c?.failures[1]).toMatch(/^b\.test\.ts: .*no-such-module/);
  });

  it('names each failed Playwright test with its error', async () => {
    const dir = await fixture({
      'package.json': '{"type":"module"}',
      'playwright.config.ts': [
        "import { defineConfig } from '@playwright/test';",
        "export default defineConfig({ testMatch: '*.spec.ts', outputDir: '.test-results/artifacts', retries: 0,",
        "  reporter: [['json', { outputFile: '.test-results/playwright.json' }]] });",
      ].join('\n'),
      // No page fixture: no browser is launched.
      'a.spec.ts': [
        "import { expect, test } from '@playwright/test';",
        "test.describe('journey', () => {",
        "  test('passes', () => expect(1).toBe(1));",
        "  test('breaks', () => expect('got').toBe('wanted'));",
        '});',
      ].join('\n'),
    });
    run(dir, 'playwright', ['test']);
    const c = readCounts(dir);
    expect(c).toMatchObject({ passed: 1, failed: 1, skipped: 0 });
    expect(c?.failures).toEqual([expect.stringMatching(/^a\.spec\.ts > journey > breaks: .*toBe/)]);
  });

  it('reports nothing for a workspace that wrote no report', async () => {
    expect(readCounts(await fixture({}))).toBeUndefined();
  });
});
