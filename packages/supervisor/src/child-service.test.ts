import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MALLOC_TUNABLES, SERVICE_MALLOC_TUNABLES } from '@mailroom/db';
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

  it("gives the service its workspace's malloc settings: huge pages where declared, an operator's own kept", async () => {
    const launch = async (mailroom: object, glibc: string | undefined) => {
      const dir = await mkdtemp(path.join(HERE, '.child-service-test-'));
      dirs.push(dir);
      await writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', mailroom }));
      await writeFile(path.join(dir, 'entry.ts'), 'console.log(JSON.stringify({ glibc: process.env.GLIBC_TUNABLES ?? null }));\n');
      const env = { ...process.env, GLIBC_TUNABLES: glibc };
      if (glibc === undefined) delete env.GLIBC_TUNABLES;
      const lines: string[] = [];
      const run = launchChildService({ name: 't', cwd: dir, entry: 'entry.ts', readyUrl: 'http://127.0.0.1:9/readyz' }, env, (line) =>
        lines.push(line),
      );
      expect((await run.exited).code).toBe(0);
      return (JSON.parse(lines.find((l) => l.startsWith('{"glibc"'))!) as { glibc: string | null }).glibc;
    };
    expect(await launch({ mallocHugePages: true }, undefined)).toBe(SERVICE_MALLOC_TUNABLES);
    expect(await launch({}, undefined)).toBe(MALLOC_TUNABLES);
    // the supervisor's own environment may carry Mailroom's value (started by `npm run bench`): each service gets its own
    expect(await launch({}, SERVICE_MALLOC_TUNABLES)).toBe(MALLOC_TUNABLES);
    expect(await launch({ mallocHugePages: true }, MALLOC_TUNABLES)).toBe(SERVICE_MALLOC_TUNABLES);
    expect(await launch({ mallocHugePages: true }, '')).toBe('');
    expect(await launch({}, 'glibc.malloc.arena_max=2')).toBe('glibc.malloc.arena_max=2');
  });
});
