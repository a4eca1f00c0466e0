// Runs the operator CLI as a child process (through tsx's loader) against the test database.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testDatabaseUrl } from '@mailroom/db/testing';

const API_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function runCli(
  args: string[],
  stdin?: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // tsx's loader in this one Node process: the tsx command would start a second Node process for each run
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: API_DIR,
      env: {
        ...process.env,
        DATABASE_URL: testDatabaseUrl(),
        ARGON2_MEMORY_KIB: '1024',
        ARGON2_TIME_COST: '1',
        LOG_LEVEL: 'silent',
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}
