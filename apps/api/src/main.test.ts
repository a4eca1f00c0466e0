import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { testDatabaseUrl } from '@mailroom/db/testing';

const API_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TSX = path.resolve(API_DIR, '../../node_modules/.bin/tsx');

test('main.ts listens on API_PORT, logs "listening", serves /readyz, and exits 0 on SIGTERM', async () => {
  const child = spawn(TSX, ['src/main.ts'], {
    cwd: API_DIR,
    env: {
      ...process.env,
      DATABASE_URL: testDatabaseUrl(),
      API_PORT: '0',
      MAILROOM_HOST: '127.0.0.1',
      MAILROOM_SECRET: 'main-test-secret-main-test-secret',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line: ${out}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      for (const line of out.split('\n')) {
        try {
          const j = JSON.parse(line) as { msg?: string; port?: number };
          if (j.msg === 'listening' && j.port) {
            clearTimeout(timer);
            resolve(j.port);
          }
        } catch {
          /* partial line */
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  expect(ready.status).toBe(200);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  expect(await exit).toBe(0);
  expect(out).toContain('"msg":"shutting down"');
});

test('main.ts refuses to start without DATABASE_URL, naming the variable', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, API_PORT: '0' };
  delete env.DATABASE_URL;
  const child = spawn(TSX, ['src/main.ts'], { cwd: API_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(code).toBe(2);
  expect(err).toContain('DATABASE_URL');
});
