import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { hostGivesNoHugePages, kernelHugePages, testDatabaseUrl } from '@mailroom/db/testing';

const API_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TSX = path.resolve(API_DIR, '../../node_modules/.bin/tsx');

test("migrate.ts (docker-compose's migrate step) applies migrations and tells the operator about huge pages", async () => {
  const child = spawn(TSX, ['src/migrate.ts'], {
    cwd: API_DIR,
    env: { ...process.env, DATABASE_URL: testDatabaseUrl(), MAILROOM_ADMIN_EMAIL: '', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(code, out).toBe(0);
  expect(out).toContain('"msg":"migrations applied"');
  // a host with no huge page reserved and no transparent ones for shared memory (as CI's): the step says how many
  // PostgreSQL's shared memory would take, and the kernel's transparent huge pages mode for it
  if (await hostGivesNoHugePages()) {
    expect(out).toMatch(
      /"hugePages":\{"setting":"try","status":"off","needed":[1-9]\d*,"shmemThp":(null|"(never|advise|deny)")\}.*sysctl vm\.nr_hugepages=\d+/,
    );
  } else if ((await kernelHugePages()).total === 0) {
    // none reserved, but the kernel gives shared memory transparent huge pages: PostgreSQL's memory is in them already
    expect(out).not.toContain('vm.nr_hugepages');
  }
});
