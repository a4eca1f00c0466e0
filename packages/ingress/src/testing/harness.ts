import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrismaClient } from '@mailroom/db';
import { createLogger, loadTlsMaterial } from '@mailroom/runtime';
import type { IngressConfig } from '../config.ts';
import { createIngress, type Ingress, type IngressPorts } from '../server.ts';

export interface RunningIngress {
  ingress: Ingress;
  ports: IngressPorts & { smtp: number; metrics: number };
  close(): Promise<void>;
}

let tlsPromise: Promise<{ cert: Buffer; key: Buffer }> | undefined;

/** A self-signed certificate generated once per test worker, the way main.ts gets one. */
export function testTls(): Promise<{ cert: Buffer; key: Buffer }> {
  tlsPromise ??= mkdtemp(path.join(os.tmpdir(), 'ingress-tls-')).then((dataDir) => loadTlsMaterial({ dataDir, hostname: 'mx.test' }));
  return tlsPromise;
}

/** Starts an ingress on port 0 (LMTP, SMTP with STARTTLS, HTTP) over the test database. */
export async function startIngress(prisma: PrismaClient, config: Partial<IngressConfig> = {}): Promise<RunningIngress> {
  const tls = await testTls();
  const ingress = createIngress({
    prisma,
    logger: createLogger('ingress-test', process.env.TEST_LOG_LEVEL as 'info' | undefined ?? 'silent'),
    tls,
    // every test client comes from 127.0.0.1: rate limits are off unless a test sets them
    config: { host: '127.0.0.1', lmtpPort: 0, smtpPort: 0, metricsPort: 0, hostname: 'mx.test', closeTimeoutMs: 500, maxConnectionsPerIpPerMinute: 0, maxMessagesPerIpPerMinute: 0, ...config },
  });
  const ports = (await ingress.listen()) as RunningIngress['ports'];
  return { ingress, ports, close: () => ingress.close() };
}

/** Polls until `check` holds (for state the server reaches after a client went away); no timing assertion. */
export async function eventually(check: () => boolean | Promise<boolean>, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not reached');
}

/** Starts a child entry point and resolves with its pino "listening" line; `lines` collects every log line. */
export async function startEntry(file: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: fileURLToPath(new URL('../..', import.meta.url)), env, stdio: ['ignore', 'pipe', 'pipe'] });
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
  return { child, listening, lines, stop: () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM')))) };
}
