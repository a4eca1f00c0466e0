import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PrismaClient } from '@mailroom/db';
import { afterAll, beforeAll } from 'vitest';
import { createLogger } from '@mailroom/runtime';
import { startEntry as startEntryIn, temporaryTlsMaterial } from '@mailroom/runtime/testing';
import type { IngressConfig } from '../config.ts';
import { createIngress, type Ingress, type IngressPorts } from '../server.ts';
import { createFixture, type Fixture } from './fixtures.ts';

export interface RunningIngress {
  ingress: Ingress;
  ports: IngressPorts & { smtp: number; metrics: number };
  close(): Promise<void>;
}

let tlsPromise: Promise<{ cert: Buffer; key: Buffer }> | undefined;

/** A self-signed certificate generated once per test worker, the way main.ts gets one; nothing left on disk. */
export function testTls(): Promise<{ cert: Buffer; key: Buffer }> {
  tlsPromise ??= temporaryTlsMaterial('mx.test');
  return tlsPromise;
}

/** Starts an ingress on port 0 (LMTP, SMTP with STARTTLS, HTTP) over the test database. */
export async function startIngress(prisma: PrismaClient, config: Partial<IngressConfig> = {}): Promise<RunningIngress> {
  const tls = await testTls();
  const ingress = createIngress({
    prisma,
    logger: createLogger('ingress-test', (process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent'),
    tls,
    // every test client comes from 127.0.0.1: rate limits are off unless a test sets them
    config: {
      host: '127.0.0.1',
      lmtpPort: 0,
      smtpPort: 0,
      metricsPort: 0,
      hostname: 'mx.test',
      closeTimeoutMs: 500,
      maxConnectionsPerIpPerMinute: 0,
      maxMessagesPerIpPerMinute: 0,
      ...config,
    },
  });
  const ports = (await ingress.listen()) as RunningIngress['ports'];
  return { ingress, ports, close: () => ingress.close() };
}

export { eventually } from '@mailroom/runtime/testing';

/** Runs a client process (swaks, Python) without blocking the event loop the ingress under test runs on. */
export function runClient(
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Starts a child entry point (cwd: this package) and resolves with its pino "listening" line. */
export const startEntry = (file: string, env: NodeJS.ProcessEnv, nodeFlags?: readonly string[]) =>
  startEntryIn(file, env, fileURLToPath(new URL('../..', import.meta.url)), nodeFlags);

/**
 * One ingress and one fixture shared by a whole test file: started before its tests (handed to `use`), closed with the
 * file's Prisma client after them.
 */
export function useIngressWithFixture(prisma: PrismaClient, use: (started: { ing: RunningIngress; f: Fixture }) => void): void {
  let ing: RunningIngress | undefined;
  beforeAll(async () => {
    ing = await startIngress(prisma);
    use({ ing, f: await createFixture(prisma) });
  });
  afterAll(async () => {
    await ing?.close();
    await prisma.$disconnect();
  });
}
