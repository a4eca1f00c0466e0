/**
 * Ingress memory benchmark: what 20 concurrent 50 MiB deliveries really cost the ingress process.
 *   npx tsx bench/memory.ts [concurrent=20] [MiB=50] [INGRESS_MAX_BUFFERED_BYTES=536870912]
 * Starts the real entry (src/main.ts, with the Node flags its package.json declares) as a child process over a fresh
 * database, warms it up, resets its peak RSS (/proc/<pid>/clear_refs), opens N LMTP connections that each send one
 * message at once, then reports the child's base RSS, peak RSS (VmHWM) and peak − base against the memory budget,
 * with the replies (250 / 452 4.3.1).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createPrismaClient } from '@mailroom/db';
import { acquireTestServer, createTestDatabase } from '@mailroom/db/testing';
import { startEntry } from '../src/testing/harness.ts';
import { WireClient, type Reply } from '../src/testing/wire-client.ts';

const [concurrent = 20, mib = 50, budget = 536_870_912] = process.argv.slice(2).map(Number);
const MIB = 1024 * 1024;

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** A message of `bytes` octets with CRLF lines and no line starting with a dot, so it goes on the wire as it is. */
function message(bytes: number): Buffer {
  const head = 'From: bench@example.org\r\nSubject: memory bench\r\n\r\n';
  const line = `${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2)}\r\n`;
  const body = Buffer.alloc(bytes - head.length, line);
  body.write('\r\n', body.length - 2);
  return Buffer.concat([Buffer.from(head), body]);
}

async function deliver(port: number, rcpt: string, raw: Buffer): Promise<Reply> {
  const c = await WireClient.connect(port);
  try {
    await c.command('LHLO bench.test');
    await c.command('MAIL FROM:<bench@example.org>');
    const r = await c.command(`RCPT TO:<${rcpt}>`);
    if (r.code !== 250) return r;
    await c.command('DATA');
    c.write(raw);
    c.write('.\r\n');
    return await c.read();
  } finally {
    await c.quit();
  }
}

const server = await acquireTestServer();
const db = await createTestDatabase(server.adminUrl, 'ingress_membench');
const prisma = createPrismaClient(db.url, { maxConnections: 2, applicationName: 'ingress-membench' });
let child: Awaited<ReturnType<typeof startEntry>> | undefined;
try {
  const owner = await prisma.user.create({ data: { email: `membench-${Date.now()}@example.com`, passwordHash: 'x', role: 'OWNER' } });
  const domain = await prisma.domain.create({
    data: { verifiedAt: new Date(), name: `membench${Date.now()}.example.com`, ownerId: owner.id },
  });
  const boxes = await Promise.all(
    Array.from({ length: concurrent }, (_, i) =>
      prisma.mailbox.create({ data: { domainId: domain.id, localPart: `u${i}`, passwordHash: 'x' } }),
    ),
  );

  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ingress-membench-'));
  // the real entry with the Node flags packages/ingress/package.json declares, as the supervisor and compose start it
  child = await startEntry('src/main.ts', {
    PATH: process.env.PATH,
    DATABASE_URL: db.url,
    MAILROOM_DATA_DIR: dataDir,
    LMTP_PORT: '0',
    INGRESS_SMTP_ENABLED: 'false',
    INGRESS_METRICS_PORT: '0',
    INGRESS_MAX_BUFFERED_BYTES: String(budget),
    INGRESS_DB_CONNECTIONS: '10',
    LOG_LEVEL: 'info',
  });
  const pid = child.child.pid!;
  const port = child.listening.lmtpPort as number;

  const raw = message(mib * MIB - 1024);
  // warm-up: one small delivery so connection pools and code paths are loaded before the baseline
  await deliver(port, `${boxes[0]!.localPart}@${domain.name}`, message(64 * 1024));
  await new Promise((r) => setTimeout(r, 1000));
  const base = status(pid, 'VmRSS');
  writeFileSync(`/proc/${pid}/clear_refs`, '5'); // reset VmHWM to the current RSS
  let sampledPeak = 0;
  const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, status(pid, 'VmRSS'))), 20);
  const t0 = performance.now();
  const replies = await Promise.all(boxes.map((b) => deliver(port, `${b.localPart}@${domain.name}`, raw)));
  clearInterval(sampler);
  const seconds = (performance.now() - t0) / 1000;
  const peak = Math.max(status(pid, 'VmHWM'), sampledPeak);
  const counts = new Map<string, number>();
  for (const r of replies) counts.set(`${r.code} ${r.text.split(' ')[0]}`, (counts.get(`${r.code} ${r.text.split(' ')[0]}`) ?? 0) + 1);
  const f = (n: number) => `${(n / MIB).toFixed(0)} MiB`;
  console.log(`${concurrent} concurrent LMTP deliveries of ${mib} MiB, INGRESS_MAX_BUFFERED_BYTES=${f(budget)}, ${seconds.toFixed(1)} s`);
  console.log(`replies: ${[...counts].map(([k, v]) => `${v} x ${k}`).join(', ')}`);
  console.log(
    `ingress RSS: base ${f(base)}, peak ${f(peak)}, peak - base ${f(peak - base)} vs budget ${f(budget)}: ${peak - base <= budget ? 'WITHIN' : 'OVER'}`,
  );
} finally {
  await child?.stop();
  await prisma.$disconnect();
  await db.drop().catch(() => undefined);
  await server.stop();
}
