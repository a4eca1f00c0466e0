/**
 * Ingress replicas benchmark (`npm run bench -- ingress-replicas`): LMTP ingest of 10 KB messages into one database
 * through one ingress process, then through two (the real entry, src/main.ts, as separate processes). The load is the
 * same both times: two load generators (bench/load.ts, like two MTAs) of 8 pipelined connections each, to 16 mailboxes;
 * with two processes each generator talks to its own. Prints msg/s for both and the CPU each process used.
 *   npx tsx bench/replicas.ts [--trials=3] [--per-connection=150]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createPrismaClient } from '@mailroom/db';
import { acquireTestServer, createTestDatabase } from '@mailroom/db/testing';
import { processCpuMs as cpuMs } from '@mailroom/runtime/testing';
import { startEntry } from '../src/testing/harness.ts';
import { runLoad } from './load-process.ts';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const TRIALS = Number(arg('trials') ?? 3);
const PER_CONNECTION = Number(arg('per-connection') ?? 150);
const CONNECTIONS_PER_GENERATOR = 8;
const SIZE = 10 * 1024;

/** One load generator of 8 connections on `port` (bench/load.ts as its own process, like an MTA). */
const load = (port: number, recipients: string[], perConnection: number) =>
  runLoad({ port, connections: CONNECTIONS_PER_GENERATOR, perConnection, size: SIZE, recipients });

const server = await acquireTestServer();
const db = await createTestDatabase(server.adminUrl, 'ingress_replicas_bench');
const prisma = createPrismaClient(db.url, { maxConnections: 2, applicationName: 'ingress-replicas-bench' });
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ingress-replicas-bench-'));
const processes: Awaited<ReturnType<typeof startEntry>>[] = [];
try {
  const stamp = Date.now();
  const owner = await prisma.user.create({ data: { email: `bench-${stamp}@example.com`, passwordHash: 'x', role: 'OWNER' } });
  const domain = await prisma.domain.create({ data: { name: `replicas${stamp}.example.com`, ownerId: owner.id, verifiedAt: new Date() } });
  const boxes = await Promise.all(
    Array.from({ length: 16 }, (_, i) =>
      prisma.mailbox.create({ data: { domainId: domain.id, localPart: `user${i}`, passwordHash: 'x' } }),
    ),
  );
  const recipients = boxes.map((b) => `${b.localPart}@${domain.name}`);
  const halves = [recipients.slice(0, 8), recipients.slice(8)];

  const startIngress = async () => {
    const e = await startEntry('src/main.ts', {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      MAILROOM_DATA_DIR: dataDir,
      LMTP_PORT: '0',
      SMTP_PORT: '0',
      INGRESS_METRICS_PORT: '0',
      INGRESS_SMTP_ENABLED: 'false',
      // the production default (startEntry waits for the "listening" line, logged at info)
      LOG_LEVEL: 'info',
    });
    processes.push(e);
    return { port: e.listening.lmtpPort as number, pid: e.child.pid! };
  };

  const run = async (label: string, targets: { port: number; pid: number }[], perConnection = PER_CONNECTION) => {
    const cpu0 = targets.map((t) => cpuMs(t.pid));
    const results = await Promise.all(halves.map((h, i) => load(targets[i % targets.length]!.port, h, perConnection)));
    const elapsed = Math.max(...results.map((r) => r.elapsedMs));
    const ok = results.reduce((a, r) => a + r.ok, 0);
    const failed = results.reduce((a, r) => a + r.failed, 0);
    const rate = (ok / elapsed) * 1000;
    const cores = targets.map((t, i) => ((cpuMs(t.pid) - cpu0[i]!) / elapsed).toFixed(2));
    console.log(
      `${label}: ${ok} delivered (${failed} failed) in ${(elapsed / 1000).toFixed(1)} s = ${rate.toFixed(0)} msg/s; ` +
        `p50 ${Math.max(...results.map((r) => r.p50)).toFixed(1)} ms, p99 ${Math.max(...results.map((r) => r.p99)).toFixed(1)} ms; ` +
        `CPU cores busy per ingress process: ${cores.join(', ')}; load average ${os.loadavg()[0]!.toFixed(1)}`,
    );
    return rate;
  };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  const one = await startIngress();
  await run('warm-up, 1 process', [one], 20);
  const single: number[] = [];
  for (let i = 1; i <= TRIALS; i++) single.push(await run(`1 ingress process, 16 connections [trial ${i}/${TRIALS}]`, [one]));
  const two = await startIngress();
  await run('warm-up, 2 processes', [one, two], 20);
  const double: number[] = [];
  for (let i = 1; i <= TRIALS; i++) double.push(await run(`2 ingress processes, 8 + 8 connections [trial ${i}/${TRIALS}]`, [one, two]));

  const total = await prisma.mailbox.aggregate({ where: { domainId: domain.id }, _sum: { messageCount: true, usedBytes: true } });
  const d = await prisma.domain.findUniqueOrThrow({ where: { id: domain.id } });
  console.log(
    `check: ${total._sum.messageCount} messages stored; domain used_bytes ${d.usedBytes === total._sum.usedBytes ? 'equals' : 'DIFFERS FROM'} the mailbox sum`,
  );
  console.log('');
  console.log(
    `RESULT 10 KB LMTP ingest, 16 connections, one database: 1 ingress process median ${median(single).toFixed(0)} msg/s, ` +
      `2 ingress processes median ${median(double).toFixed(0)} msg/s (${TRIALS} trials each; ${os.availableParallelism()} cores, load average ${os.loadavg()[0]!.toFixed(1)}; indicative on a shared machine)`,
  );
} finally {
  await Promise.all(processes.map((p) => p.stop()));
  await prisma.$disconnect();
  await db.drop().catch(() => undefined);
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}
