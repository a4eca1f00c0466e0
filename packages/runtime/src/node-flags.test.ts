import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { missingNodeFlags, workspaceMallocHugePages, workspaceNodeFlags } from './node-flags.ts';

async function workspace(pkg: unknown): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'node-flags-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'package.json'), JSON.stringify(pkg));
  return dir;
}

describe('workspaceNodeFlags', () => {
  it('reads the flags a package.json declares, and none when it declares none or is missing', async () => {
    expect(workspaceNodeFlags(await workspace({ name: 'x', mailroom: { nodeFlags: ['--initial-old-space-size=128'] } }))).toEqual([
      '--initial-old-space-size=128',
    ]);
    expect(workspaceNodeFlags(await workspace({ name: 'x' }))).toEqual([]);
    expect(workspaceNodeFlags(path.join(os.tmpdir(), 'no-such-workspace-dir'))).toEqual([]);
  });

  it('refuses anything that is not a plain flag (no second argument smuggled in through a space)', async () => {
    for (const nodeFlags of [['--a=1 --b'], ['-e'], ['--a', 'script.js'], '--a']) {
      const dir = await workspace({ mailroom: { nodeFlags } });
      expect(() => workspaceNodeFlags(dir)).toThrow();
    }
  });
});

describe('workspaceMallocHugePages', () => {
  it('is true only where the package.json says so', async () => {
    expect(workspaceMallocHugePages(await workspace({ mailroom: { mallocHugePages: true } }))).toBe(true);
    expect(workspaceMallocHugePages(await workspace({ mailroom: { mallocHugePages: false, nodeFlags: ['--a'] } }))).toBe(false);
    expect(workspaceMallocHugePages(await workspace({ mailroom: { nodeFlags: ['--a'] } }))).toBe(false);
    expect(workspaceMallocHugePages(await workspace({ name: 'x' }))).toBe(false);
    expect(workspaceMallocHugePages(path.join(os.tmpdir(), 'no-such-workspace-dir'))).toBe(false);
  });

  it('refuses a value that is not a boolean and a misspelt key, rather than launching without them', async () => {
    for (const mailroom of [{ mallocHugePages: 'true' }, { mallocHugePages: 1 }, { mallocHugepages: true }]) {
      const dir = await workspace({ mailroom });
      expect(() => workspaceMallocHugePages(dir)).toThrow();
      expect(() => workspaceNodeFlags(dir)).toThrow();
    }
  });
});

describe('missingNodeFlags', () => {
  it('lists the expected flags the command line lacks', () => {
    expect(missingNodeFlags(['--a=1', '--b'], ['--import', 'tsx', '--b'])).toEqual(['--a=1']);
    expect(missingNodeFlags(['--a=1'], ['--a=2'])).toEqual(['--a=1']);
    expect(missingNodeFlags([], [])).toEqual([]);
  });
});
