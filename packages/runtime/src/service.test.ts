// runService, the one entry of api, pop3, ingress and the worker, run as a real child process (test/service-entry.ts).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { CONSOLE_OUTPUT } from './service.ts';
import { startEntry } from './testing.ts';

const ENTRY = fileURLToPath(new URL('../test/service-entry.ts', import.meta.url));
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  DATABASE_URL: 'postgresql://127.0.0.1:1/none',
  LOG_LEVEL: 'info',
  ...extra,
});

/** Runs the fixture entry to its end; resolves on 'close' (every output line read), not 'exit'. */
function run(extra: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], { env: extra, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
}

describe('runService', () => {
  test('logs "listening" with the bound ports, and on SIGTERM closes, runs the cleanups in reverse, logs "stopped", exits 0', async () => {
    const entry = await startEntry(ENTRY, env());
    expect(entry.listening).toMatchObject({ name: 'fixture', service: 'fixture', msg: 'listening' });
    const port = entry.listening.metricsPort as number;
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    await entry.stop();
    expect(await entry.exited).toBe(0);
    const msgs = entry.lines.map((l) => l.msg);
    expect(msgs).toContain('shutting down');
    expect(msgs.filter((m) => m !== 'shutting down').slice(-3)).toEqual(['second cleanup', 'first cleanup', 'stopped']);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  test('what a library writes to the console becomes a log line: standard output stays one JSON object per line', async () => {
    const entry = await startEntry(ENTRY, env({ FIXTURE_CONSOLE: 'yes', LOG_LEVEL: 'debug' }));
    await entry.stop();
    await entry.exited;
    const lines = entry.lines.filter((l) => l.msg === CONSOLE_OUTPUT);
    expect(lines.map((l) => [l.level, (l.console as string).slice(0, 24)])).toEqual([
      [20, 'TOTAL 42 EXPECTING 7'],
      [40, 'trouble: xxxxxxxxxxxxxxx'],
    ]);
    expect((lines[1]!.console as string).length).toBe(2000);
    // at the default level the debug one is not written at all
    const quiet = await run(env({ FIXTURE_CONSOLE: 'yes', FIXTURE_FAIL: 'listen' }));
    const out = quiet.stdout.trim().split('\n');
    expect(out.every((l) => JSON.parse(l))).toBe(true);
    expect(quiet.stdout).not.toContain('TOTAL');
    expect(quiet.stdout).toContain('trouble');
  });

  test('without DATABASE_URL it exits with the configuration code, naming the variable on stderr', async () => {
    const out = await run({ ...env(), DATABASE_URL: '' });
    expect(out.code).toBe(1);
    expect(out.stderr).toBe('mailroom fixture: invalid configuration:\n  DATABASE_URL: required (npm start sets it)\n');
    expect(out.stdout).toBe('');
    expect((await run({ ...env(), DATABASE_URL: '', FIXTURE_CONFIG_EXIT: '2' })).code).toBe(2);
  });

  test('a bad setting found while building is a configuration error too, naming the variable and never its value', async () => {
    const out = await run(env({ MAILROOM_SECRET: 'hunter2-short' }));
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('mailroom fixture: invalid configuration:\n  MAILROOM_SECRET');
    expect(out.stderr + out.stdout).not.toContain('hunter2-short');
  });

  test('a failed start logs "could not start", runs the cleanups and exits 1', async () => {
    const out = await run(env({ FIXTURE_FAIL: 'listen' }));
    expect(out.code).toBe(1);
    const msgs = out.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toEqual(['second cleanup', 'first cleanup', 'could not start']);
  });
});
