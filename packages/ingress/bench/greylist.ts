/**
 * What greylisting (INGRESS_GREYLIST, src/greylist.ts) costs per recipient: one decision is one `INSERT … ON CONFLICT`
 * statement, committed. New triplets (the dearest case: a row inserted, its commit flushed) against an embedded
 * PostgreSQL with the deployed settings, one at a time and eight at once; the table's size per triplet. Nothing here is
 * a test.
 *
 *   npx tsx bench/greylist.ts [--n=N]        (npm run bench -- greylist)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseTrustedProxies } from '@mailroom/core';
import { createPrismaClient, openDatabase, pgPoolOf } from '@mailroom/db';
import { Greylist } from '../src/greylist.ts';

const N = Number(process.argv.find((a) => a.startsWith('--n='))?.slice(4) ?? 4000);
/** The ingress's CPU per decision, at most: a fifth of what storing a small message costs it. */
const TARGET_CPU_MS = 0.5;

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-greylist-bench-'));
const db = await openDatabase({ dataDir, migrate: true });
const prisma = createPrismaClient(db.url, { maxConnections: 8, applicationName: 'greylist-bench' });
try {
  const pool = pgPoolOf(prisma)!;
  const greylist = new Greylist(pool, {
    enabled: true,
    exempt: parseTrustedProxies('none'),
    skipSpfPass: false,
    delaySeconds: 300,
    retryWindowHours: 48,
    maxAgeDays: 35,
    autoWhitelistClients: 5,
    skip: parseTrustedProxies('none'),
  });
  let seq = 0;
  const next = () => {
    const i = seq++;
    return greylist.check(`203.0.${i % 250}.${i % 200}`, `s${i % 500}@sender${i % 50}.example`, `r${i}@hosted.example`);
  };
  for (let i = 0; i < 200; i++) await next(); // warm up
  for (const concurrency of [1, 8]) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let left = N;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left-- > 0) {
          const v = await next();
          if (v.pass) throw new Error('a new triplet passed');
        }
      }),
    );
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const c = process.cpuUsage(cpu0);
    const cpuMs = (c.user + c.system) / 1000 / N;
    console.log(
      `RESULT greylisting, ${N} new triplets, ${concurrency} at a time: ${(N / (ms / 1000)).toFixed(0)} decisions/s, ${(ms / N).toFixed(3)} ms wall, ${cpuMs.toFixed(3)} ms ingress CPU each vs target <= ${TARGET_CPU_MS} ms CPU: ${cpuMs <= TARGET_CPU_MS ? 'MET' : 'NOT MET'}`,
    );
  }
  const { rows } = await pool.query<{ bytes: string; n: string }>(
    `SELECT pg_total_relation_size('greylist') AS bytes, count(*) AS n FROM greylist`,
  );
  const r = rows[0]!;
  console.log(`RESULT greylist table with its indexes: ${Math.round(Number(r.bytes) / Number(r.n))} bytes per triplet (${r.n} triplets)`);
  console.log(`(load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores; node ${process.version})`);
} finally {
  await prisma.$disconnect();
  await db.close();
  await rm(dataDir, { recursive: true, force: true });
}
