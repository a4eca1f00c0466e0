import { spawn } from 'node:child_process';

/**
 * Test helper: starts a service entry (`src/main.ts`) as a child process under tsx and resolves with its pino
 * "listening" line (the line `npm start` waits for); `lines` collects every log line, `stop()` sends SIGTERM.
 */
export async function startEntry(file: string, env: NodeJS.ProcessEnv, cwd: string = process.cwd()) {
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines: Record<string, unknown>[] = [];
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          lines.push(parsed);
          if (parsed.msg === 'listening') resolve(parsed);
        } catch {
          // not a log line
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
  return {
    child,
    listening,
    lines,
    /** Sends SIGTERM (unless it already exited) and resolves once the process is gone. */
    stop: () => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM')))),
    /** The exit code (null when ended by a signal). */
    exited,
  };
}

/** Polls until `check` holds (for state a server reaches after a client went away); no timing assertion. */
export async function eventually(check: () => boolean | Promise<boolean>, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not reached');
}

/**
 * Polls `check` until it holds, failing if it still does not after `ms` milliseconds: a requirement of the form "seen
 * within N ms" (e.g. a revocation reaching another process), not a speed measurement.
 */
export async function within(ms: number, check: () => boolean | Promise<boolean>, what = 'condition'): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
