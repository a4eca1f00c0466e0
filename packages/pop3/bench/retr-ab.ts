/**
 * RETR of one 50 MiB message, A/B: the POP3 server runs in this process (so `node --cpu-prof` profiles it) with store
 * variants, the client (bench/retr-client.ts) runs in its own process and only counts octets. Variants run
 * interleaved, so a machine loaded by other work shifts them alike: compare the ratios, not the absolute figures.
 *   npx tsx bench/retr-ab.ts [rounds]   BENCH_VARIANTS=a,b picks variants; BENCH_EXTERNAL=0 stores with pglz (MAIN);
 *   BENCH_TEXT=1 uses compressible text instead of base64; BENCH_PARTS=1 stores it as the ingress stores a large message
 *   (splitWholeMessages, as `messages split-large`: `raw` holds the header, message_parts the rest);
 *   BENCH_PROFILE=<variant> writes /tmp/retr-<variant>-<round>.cpuprofile of the server during that variant's RETRs
 */
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { AuthThrottle, createPasswordHasher } from '@mailroom/core';
import { createPgPool, createPrismaClientWithPool, newId, splitWholeMessages } from '@mailroom/db';
import { acquireTestServer, createTestDatabase } from '@mailroom/db/testing';
import { createLogger, loadTlsMaterial } from '@mailroom/runtime';
import { processCpuMs } from '@mailroom/runtime/testing';
import { PrismaMaildropStore } from '../src/prisma-store.ts';
import { createPop3Server } from '../src/server.ts';
import { testConfig } from '../test/helpers.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const rounds = Number(process.argv[2] ?? 5);

/** Attachment-like content: base64 lines of random octets, with a dot line every ~4 KiB to keep stuffing honest. */
function message(size: number): Buffer {
  const lines: string[] = ['Subject: big', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', ''];
  let n = 200;
  const rnd = randomBytes(57 * 1024);
  let i = 0;
  while (n < size) {
    const l =
      i % 50 === 49 ? '.dot line at start' : rnd.toString('base64', (i * 57) % (rnd.length - 57), ((i * 57) % (rnd.length - 57)) + 57);
    lines.push(l);
    n += l.length + 2;
    i++;
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n`);
}

const pg = await acquireTestServer();
const db = await createTestDatabase(pg.adminUrl, 'pop3_retr_ab');
const { prisma } = createPrismaClientWithPool(db.url, { maxConnections: 4 });
// one stream connection, so its PostgreSQL backend's CPU time can be read from /proc
const streamPool = createPgPool(db.url, { maxConnections: 1, reuseReadBuffers: true, acquireTimeoutMs: 5000 });
/** CPU seconds a process has used (utime + stime from /proc/<pid>/stat). */
const cpuSeconds = (pid: number) => processCpuMs(pid) / 1000;
try {
  if (process.env.BENCH_EXTERNAL === '0') await prisma.$executeRawUnsafe('ALTER TABLE messages ALTER raw SET STORAGE MAIN');
  const hasher = createPasswordHasher({ memoryKib: 1024, timeCost: 1, parallelism: 1 });
  const owner = await prisma.user.create({ data: { email: `o-${newId()}@b.example`, passwordHash: 'x', role: 'OWNER' } });
  const domain = await prisma.domain.create({ data: { name: `retr-${Date.now()}.example`, ownerId: owner.id, verifiedAt: new Date() } });
  const mbox = await prisma.mailbox.create({ data: { domainId: domain.id, localPart: 'u', passwordHash: await hasher.hash('pw') } });
  // BENCH_TEXT=1: compressible text lines instead of base64 (what pglz/lz4 would shrink)
  const raw =
    process.env.BENCH_TEXT === '1'
      ? Buffer.from(`Subject: text\r\n\r\n${'The quick brown fox jumps over the lazy dog, again and again.\r\n'.repeat((50 * MiB) / 64)}`)
      : message(50 * MiB);
  await prisma.$executeRaw`INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw) VALUES (${newId()}::uuid, ${mbox.id}::uuid, 1, 'u1', ${raw.length}, ${raw})`;
  await prisma.mailbox.update({ where: { id: mbox.id }, data: { nextUid: 2, messageCount: 1, usedBytes: raw.length } });
  if (process.env.BENCH_PARTS === '1') await splitWholeMessages(prisma, { mailboxId: mbox.id });
  const storage = await prisma.$queryRawUnsafe<{ s: string }[]>(`SELECT pg_size_pretty(pg_total_relation_size('messages')) AS s`);
  console.log(
    `message ${raw.length} octets; table+toast ${storage[0]!.s}; load ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );

  const tls = await loadTlsMaterial({ dataDir: '/tmp/pop3-retr-ab', hostname: 'localhost' });
  const variants: Record<string, () => PrismaMaildropStore> = {
    current: () => new PrismaMaildropStore({ prisma, pool: streamPool, hasher, throttle: new AuthThrottle(prisma, 's') }),
    ...Object.fromEntries(
      [64, 256, 1020].map((k) => [
        `rows${k}k`,
        () => new PrismaMaildropStore({ prisma, pool: streamPool, hasher, throttle: new AuthThrottle(prisma, 's'), chunkOctets: k * 1024 }),
      ]),
    ),
  };
  const pick = (process.env.BENCH_VARIANTS ?? Object.keys(variants).join(',')).split(',');
  const results: Record<string, number[]> = {};
  const cpu: Record<string, { server: number; pg: number; client: number }[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const name of pick) {
      const server = createPop3Server({
        store: variants[name]!(),
        config: testConfig({ tlsPort: null }),
        logger: createLogger('b', 'silent'),
        tls,
      });
      const { pop3 } = await server.listen();
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/retr-client.ts', String(pop3), `u@${domain.name}`, 'pw'], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      while (!out.includes('ready\n')) await new Promise((r) => child.stdout.once('data', r));
      const profiling = process.env.BENCH_PROFILE === name ? new Session() : undefined;
      if (profiling) {
        profiling.connect();
        await profiling.post('Profiler.enable');
        await profiling.post('Profiler.start');
      }
      const backendPid = (await streamPool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const [pg0, own0] = [cpuSeconds(backendPid), process.cpuUsage()];
      child.stdin.write('go\n');
      await new Promise((r) => child.once('exit', r));
      const [pgCpu, ownCpu] = [cpuSeconds(backendPid) - pg0, process.cpuUsage(own0)];
      const stdout = out.split('ready\n')[1]!;
      if (profiling) {
        const { profile } = await profiling.post('Profiler.stop');
        writeFileSync(`/tmp/retr-${name}-${r}.cpuprofile`, JSON.stringify(profile));
        profiling.disconnect();
      }
      const [size, total, clientCpu] = stdout.split(' ').map(Number) as [number, number, number];
      const serverCpu = (ownCpu.user + ownCpu.system) / 1e6;
      (cpu[name] ??= []).push({ server: serverCpu, pg: pgCpu, client: clientCpu });
      if (process.env.BENCH_CHECK) {
        await run('curl', ['-s', '-u', `u@${domain.name}:pw`, `pop3://127.0.0.1:${pop3}/1`, '-o', '/tmp/retr-ab.out']);
        const got = (await import('node:fs')).readFileSync('/tmp/retr-ab.out');
        let i = 0;
        while (i < got.length && got[i] === raw[i]) i++;
        console.log(
          `check: got ${got.length} of ${raw.length}, first difference at ${i}: ${JSON.stringify(got.toString('latin1', i - 20, i + 20))} vs ${JSON.stringify(raw.toString('latin1', i - 20, i + 20))}`,
        );
      }
      if (size < raw.length - 4096) throw new Error(`short download: ${size} of ${raw.length}`);
      await server.close();
      (results[name] ??= []).push(raw.length / total / 1e6);
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = med(results[pick[0]!]!);
  for (const name of pick) {
    const m = med(results[name]!);
    const c = (k: 'server' | 'pg' | 'client') => med(cpu[name]!.map((x) => x[k]));
    // CPU seconds per download hardly depend on how loaded the machine is; on 2 idle cores the three processes
    // pipeline, so the bound is the busiest process or half their sum, whichever is larger
    const bound = raw.length / Math.max(c('server'), c('pg'), c('client'), (c('server') + c('pg') + c('client')) / 2) / 1e6;
    console.log(
      `${name.padEnd(12)} median ${m.toFixed(0)} MB/s (×${(m / base).toFixed(2)})  runs ${results[name]!.map((x) => x.toFixed(0)).join(' ')}`,
    );
    console.log(
      `${''.padEnd(12)} CPU s: server ${c('server').toFixed(3)}, PostgreSQL ${c('pg').toFixed(3)}, client ${c('client').toFixed(3)} → 2-core bound ${bound.toFixed(0)} MB/s`,
    );
  }
} finally {
  await prisma.$disconnect();
  await streamPool.end();
  await db.drop();
  await pg.stop();
}
