import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { launchChildService } from './child-service.ts';

// inside the repository, so `--import tsx` resolves from the workspace's node_modules
const HERE = fileURLToPath(new URL('.', import.meta.url));
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('launchChildService', () => {
  it("starts the entry with its workspace's package.json nodeFlags before the loaders", async () => {
    const dir = await mkdtemp(path.join(HERE, '.child-service-test-'));
    dirs.push(dir);
    await writeFile(
      path.join(dir, 'package.json'),
      JSON.stringify({ type: 'module', mailroom: { nodeFlags: ['--initial-old-space-size=96'] } }),
    );
    await writeFile(path.join(dir, 'entry.ts'), 'console.log(JSON.stringify({ execArgv: process.execArgv }));\n');
    const lines: string[] = [];
    const run = launchChildService({ name: 't', cwd: dir, entry: 'entry.ts', readyUrl: 'http://127.0.0.1:9/readyz' }, process.env, (line) =>
      lines.push(line),
    );
    expect((await run.exited).code).toBe(0);
    const { execArgv } = JSON.parse(lines.find((l) => l.startsWith('{"execArgv"'))!) as { execArgv: string[] };
    expect(execArgv[0]).toBe('--initial-old-space-size=96');
    expect(execArgv).toContain('tsx');
  });
});
