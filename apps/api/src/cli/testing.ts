// Runs the operator CLI against the test database: its commands in this process (runCli with the test's streams and
// environment), or the real entry as a child process, for what only a process shows (argv, exit code, standard input).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { testDatabaseUrl } from '@mailroom/db/testing';
import { runCli as runCommand } from './main.ts';

const API_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function testEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: testDatabaseUrl(),
    ARGON2_MEMORY_KIB: '1024',
    ARGON2_TIME_COST: '1',
    LOG_LEVEL: 'silent',
    ...env,
  };
}

/**
 * One CLI command, run in this process as the entry runs it: `stdin` is its standard input (ended), `env` is added to
 * the test environment. Starting a child per command cost 2 s (10 s beside the other suites in CI) in module loading.
 */
export async function runCli(args: string[], stdin?: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), env: testEnv(env) };
  io.stdin.end(stdin ?? '');
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  io.stdout.on('data', (d: Buffer) => out.push(d));
  io.stderr.on('data', (d: Buffer) => err.push(d));
  const code = await runCommand(args, io);
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** The CLI as operators run it (`npm run mailroom`: tsx and src/cli/main.ts) in a child process. */
export function spawnCli(args: string[], stdin?: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // tsx's loader in this one Node process: the tsx command would start a second Node process for each run
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: API_DIR,
      env: testEnv(env),
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
