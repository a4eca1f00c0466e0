import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ConfigError } from './env.ts';
import { loadServerSecret } from './secret.ts';

const secretModule = fileURLToPath(new URL('./secret.ts', import.meta.url));

/** Runs loadServerSecret in a separate Node process (a second service starting at the same moment). */
function secretFromChild(dataDir: string): Promise<string> {
  const code = `import { loadServerSecret } from ${JSON.stringify(secretModule)}; process.stdout.write(await loadServerSecret(undefined, ${JSON.stringify(dataDir)}));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (status) => (status === 0 ? resolve(out) : reject(new Error(`child exited ${status}`))));
  });
}

describe('loadServerSecret', () => {
  it('creates one secret when several starters race (async calls and separate processes)', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'secret-'));
    onTestFinished(() => rm(tmp, { recursive: true, force: true }));
    const dir = path.join(tmp, 'data');
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => secretFromChild(dir)),
      ...Array.from({ length: 8 }, () => loadServerSecret(undefined, dir)),
    ]);
    expect(new Set(results).size).toBe(1);
    expect(results[0]).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(path.join(dir, 'secret.key'))).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['secret.key']); // no temporary files left behind
    expect(await loadServerSecret(undefined, dir)).toBe(results[0]);
  });

  it('refuses a MAILROOM_SECRET shorter than 32 characters, naming the variable and not the value', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'secret-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const err = await loadServerSecret('hunter2-short-secret', dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('MAILROOM_SECRET');
    expect((err as Error).message).not.toContain('hunter2');
    const long = 'x'.repeat(32);
    expect(await loadServerSecret(long, dir)).toBe(long);
  });
});
