import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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
