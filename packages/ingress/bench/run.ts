/**
 * Ingress benchmark (`npm run bench -w @mailroom/ingress`): LMTP delivery with durable commits into a fresh database.
 * A separate load process (bench/load.ts, like an MTA) drives 8 pipelined LMTP connections; this process runs the
 * ingress. Prints messages/s against the target and the CPU split between load generator, ingress and PostgreSQL.
 */
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createPrismaClient, shmemThpMode } from '@mailroom/db';
import { acquireTestServer, benchmarkWal, createTestDatabase, mallocNote } from '@mailroom/db/testing';
import { createLogger } from '@mailroom/runtime';
import { procStat, processTreeCpuMs } from '@mailroom/runtime/testing';
import { createIngress } from '../src/server.ts';
import { runLoad, type BodyKind } from './load-process.ts';

const TARGET_10KB_PER_S = 500;
/** Issue 17: at least Dovecot's rate for 1 MB messages over 8 LMTP connections on the development machine. */
const TARGET_1MB_PER_S = 160;
const CONNECTIONS = 8;
const USAGE = `usage: npx tsx bench/run.ts [--trials=N] [--only=CASE] [--first=off|on] [--per=N]
  --trials=N   trials per case (default 3); the median and the spread are reported
  --only=log   just the 10 KB case with the delivery log on and off (DELIVERY_LOG); --first=off measures off first
  --only=10kb  just the 10 KB case (8 connections, 1 mailbox each)
  --only=1mb   just the 1 MB case (8 connections)
  --only=storage  just the storage cost per message (table + TOAST + indexes + WAL) for 10 KB and 1 MB messages
  --only=churn    just the 1 MB case after the previous trial's mail was deleted and message_parts vacuumed (a POP3
               host's steady state), alternating: into the freed pages, and appended (vacuum_truncate cutting them off)
  --per=N      messages per connection in the 1 MB case (default 8)
  --fresh-wal  leave PostgreSQL's WAL as initdb made it (no recycled segments; see steadyStateWal in packages/db/src/testing)
CPU profile of the ingress: node --cpu-prof --import tsx bench/run.ts --only=1mb (the load generator is its own process)`;
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
if (process.argv.includes('--help')) {
  console.log(USAGE);
  process.exit(0);
}
const TRIALS = Number(arg('trials') ?? 3);
const ONLY = arg('only');
const ONLY_LOG = ONLY === 'log';
const PER_1MB = Number(arg('per') ?? 8);
/** The delivery log may cost at most this much of the 10 KB rate. */
const MAX_LOG_SLOWDOWN = 0.1;

/** The postmaster serving the bench database (the parent of our backend); other clusters on the machine are not counted. */
let postmaster = 0;

/** CPU ms used so far by our PostgreSQL cluster: the postmaster and its children (backends, WAL writer, checkpointer). */
const postgresCpuMs = () => processTreeCpuMs(postmaster);

function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

type IngressT = ReturnType<typeof createIngress>;
async function histogram(ingress: IngressT, name: 'batchRequests' | 'batchSeconds' | 'deliverySeconds') {
  const m = await ingress.metrics[name].get();
  let sum = 0;
  let count = 0;
  for (const v of m.values) {
    if (v.metricName?.endsWith('_sum')) sum += v.value;
    if (v.metricName?.endsWith('_count')) count += v.value;
  }
  return { sum, count };
}

async function measure(
  label: string,
  ingress: IngressT,
  perConnection: number,
  size: number,
  recipients: string[],
  body: BodyKind = 'text',
) {
  const pg0 = postgresCpuMs();
  const self0 = selfCpuMs();
  const [b0, s0, d0] = await Promise.all([
    histogram(ingress, 'batchRequests'),
    histogram(ingress, 'batchSeconds'),
    histogram(ingress, 'deliverySeconds'),
  ]);
  // the ingress runs in this process: how late its event loop ran (a delivery passes through it several times), with
  // 1 ms resolution, so an idle loop shows about 1 ms
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const r = await runLoad({ port: ingress.ports!.lmtp, connections: CONNECTIONS, perConnection, size, recipients, body });
  loopDelay.disable();
  const [b1, s1, d1] = await Promise.all([
    histogram(ingress, 'batchRequests'),
    histogram(ingress, 'batchSeconds'),
    histogram(ingress, 'deliverySeconds'),
  ]);
  const batches = b1.count - b0.count;
  const pgMs = postgresCpuMs() - pg0;
  const selfMs = selfCpuMs() - self0;
  const rate = (r.ok / r.elapsedMs) * 1000;
  const cores = (ms: number) => (ms / r.elapsedMs).toFixed(2);
  console.log(
    `${label}: ${r.ok} delivered (${r.failed} failed) in ${(r.elapsedMs / 1000).toFixed(1)} s = ${rate.toFixed(0)} msg/s, ` +
      `${((rate * r.bytes) / 1048576).toFixed(1)} MiB/s; latency p50 ${r.p50.toFixed(1)} ms p99 ${r.p99.toFixed(1)} ms; ` +
      `CPU cores busy: ingress ${cores(selfMs)}, postgres ${cores(pgMs)}, load generator ${cores(r.cpuMs)} (machine has 2)`,
  );
  const perMsg = (ms: number) => ms / Math.max(1, r.ok);
  const ingressMs = perMsg(selfMs);
  const pgMsPer = perMsg(pgMs);
  console.log(
    `  CPU per message: ingress ${ingressMs.toFixed(2)} ms, postgres ${pgMsPer.toFixed(2)} ms, load generator ${perMsg(r.cpuMs).toFixed(2)} ms; ` +
      `ceilings on an otherwise idle machine: ingress event loop ${(1000 / ingressMs).toFixed(0)} msg/s, 2 cores ${(2000 / (ingressMs + pgMsPer + perMsg(r.cpuMs))).toFixed(0)} msg/s`,
  );
  const cpuCeiling = Math.min(1000 / ingressMs, 2000 / (ingressMs + pgMsPer + perMsg(r.cpuMs)));
  const latencyCeiling = (CONNECTIONS * 1000) / r.mean;
  const commitMs = ((s1.sum - s0.sum) / Math.max(1, batches)) * 1000;
  console.log(
    `  bounded by: ${cpuCeiling < latencyCeiling * 1.2 ? 'CPU' : `latency: ${CONNECTIONS} messages in flight / ${r.mean.toFixed(1)} ms mean round trip (recipient lookup, DATA, wait for the running group commit, own commit of ${commitMs.toFixed(1)} ms)`} ` +
      `(latency ceiling ${latencyCeiling.toFixed(0)} msg/s, CPU ceiling ${cpuCeiling.toFixed(0)} msg/s)`,
  );
  console.log(
    `  where the time goes: MAIL+RCPT+DATA (recipient lookup) p50 ${r.envelopeP50.toFixed(1)} ms; store incl. waiting for the group commit ` +
      `avg ${(((d1.sum - d0.sum) / Math.max(1, d1.count - d0.count)) * 1000).toFixed(1)} ms; ${batches} commits of avg ${((b1.sum - b0.sum) / Math.max(1, batches)).toFixed(1)} deliveries taking avg ${(((s1.sum - s0.sum) / Math.max(1, batches)) * 1000).toFixed(1)} ms; ` +
      `ingress event loop delay mean ${(loopDelay.mean / 1e6).toFixed(1)} ms p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} max ${(loopDelay.max / 1e6).toFixed(1)}; ` +
      `load average ${os.loadavg()[0]!.toFixed(1)}`,
  );
  return { ...r, rate };
}

interface StorageSizes {
  heap: number;
  toast: number;
  /** message_parts with its index: the octets of large messages after their trace fields (not compressed, see the migration). */
  parts: number;
  indexes: number;
  log: number;
  lsn: string;
}

/**
 * Sizes of what stored messages occupy (messages heap, its TOAST table with its index, its indexes, message_parts with
 * its index, the delivery log) and the WAL position.
 */
async function storageSizes(prisma: ReturnType<typeof createPrismaClient>): Promise<StorageSizes> {
  const [r] = await prisma.$queryRawUnsafe<{ heap: bigint; toast: bigint; indexes: bigint; parts: bigint; log: bigint; lsn: string }[]>(
    `SELECT pg_relation_size(c.oid) AS heap, pg_total_relation_size(c.reltoastrelid) AS toast, pg_indexes_size(c.oid) AS indexes,
            pg_total_relation_size('message_parts') AS parts, pg_total_relation_size('delivery_log') AS log,
            pg_current_wal_lsn()::text AS lsn
       FROM pg_class c WHERE c.oid = 'messages'::regclass`,
  );
  return {
    heap: Number(r!.heap),
    toast: Number(r!.toast),
    indexes: Number(r!.indexes),
    parts: Number(r!.parts),
    log: Number(r!.log),
    lsn: r!.lsn,
  };
}

/**
 * How `messages.raw` is stored: compressed with pglz when it pays (PostgreSQL's default for bytea), with lz4 (when the
 * server is built with it; the embedded one is not), or never compressed.
 */
const STORAGE_MODES = {
  pglz: 'SET STORAGE EXTENDED, ALTER COLUMN raw SET COMPRESSION pglz',
  lz4: 'SET STORAGE EXTENDED, ALTER COLUMN raw SET COMPRESSION lz4',
  none: 'SET STORAGE EXTERNAL',
} as const;
type StorageMode = keyof typeof STORAGE_MODES;
const MODE_LABEL: Record<StorageMode, string> = { pglz: 'pglz (EXTENDED)', lz4: 'lz4 (EXTENDED)', none: 'none (EXTERNAL)' };

/**
 * The storage cost case (`--only=storage`): delivers 10 KB and 1 MB messages through LMTP with `messages.raw` stored each
 * way (A/B interleaved, so a busy machine affects both alike) and prints, per stored message, the octets it added to the
 * messages heap, its TOAST table, its indexes and the delivery log, and the WAL written, next to the message's size.
 */
async function storageCost(ingress: IngressT, recipients: string[], trials: number): Promise<void> {
  const [current] = await prisma.$queryRawUnsafe<{ storage: string; compression: string }[]>(
    `SELECT attstorage::text AS storage, attcompression::text AS compression FROM pg_attribute WHERE attrelid = 'messages'::regclass AND attname = 'raw'`,
  );
  console.log(
    `messages.raw as migrated: storage ${current!.storage === 'e' ? 'EXTERNAL' : current!.storage === 'x' ? 'EXTENDED' : current!.storage}, compression ${current!.compression === 'l' ? 'lz4' : current!.compression === 'p' ? 'pglz' : 'default_toast_compression'}`,
  );
  const modes: StorageMode[] = ['pglz', 'none'];
  try {
    await prisma.$executeRawUnsafe(`ALTER TABLE messages ALTER COLUMN raw ${STORAGE_MODES.lz4}`);
    modes.splice(1, 0, 'lz4');
  } catch {
    console.log('this PostgreSQL has no lz4 (the embedded build): measuring pglz and no compression only');
  }
  const payloads: { label: string; size: number; per: number; body: BodyKind }[] = [
    { label: '10 KB text', size: 10 * 1024, per: 100, body: 'text' },
    { label: '1 MB text', size: 1024 * 1024, per: 6, body: 'text' },
    { label: '1 MB attachment (base64 of random octets)', size: 1024 * 1024, per: 6, body: 'attachment' },
  ];
  const rows: string[] = [];
  for (const p of payloads) {
    type Run = { rate: number[]; n: number; d: Omit<StorageSizes, 'lsn'> & { wal: number }; bytes: number };
    const runs = Object.fromEntries(
      modes.map((m) => [m, { rate: [], n: 0, d: { heap: 0, toast: 0, indexes: 0, parts: 0, log: 0, wal: 0 }, bytes: 0 } as Run]),
    ) as Record<StorageMode, Run>;
    for (let t = 0; t < trials; t++) {
      const order = t % 2 === 0 ? modes : [...modes].reverse();
      for (const mode of order) {
        await prisma.$executeRawUnsafe(`ALTER TABLE messages ALTER COLUMN raw ${STORAGE_MODES[mode]}`);
        await prisma.$executeRawUnsafe('CHECKPOINT');
        const before = await storageSizes(prisma);
        const r = await measure(
          `${p.label}, raw ${MODE_LABEL[mode]} [trial ${t + 1}/${trials}]`,
          ingress,
          p.per,
          p.size,
          recipients,
          p.body,
        );
        const after = await storageSizes(prisma);
        const [w] = await prisma.$queryRawUnsafe<{ wal: number }[]>(
          `SELECT pg_wal_lsn_diff('${after.lsn}', '${before.lsn}')::float8 AS wal`,
        );
        const run = runs[mode];
        run.rate.push(r.rate);
        run.n += r.ok;
        run.bytes = r.bytes;
        for (const k of ['heap', 'toast', 'indexes', 'parts', 'log'] as const) run.d[k] += after[k] - before[k];
        run.d.wal += w!.wal;
      }
    }
    for (const mode of modes) {
      const run = runs[mode];
      const per = (x: number) => Math.round(x / Math.max(1, run.n)).toLocaleString('en');
      const total = run.d.heap + run.d.toast + run.d.indexes + run.d.parts;
      const median = [...run.rate].sort((a, b) => a - b)[Math.floor(run.rate.length / 2)]!;
      rows.push(
        `| ${p.label} | ${run.bytes.toLocaleString('en')} | ${MODE_LABEL[mode]} | ${per(run.d.heap)} | ${per(run.d.toast)} | ` +
          `${per(run.d.indexes)} | ${per(run.d.parts)} | ${per(total)} (${((total / run.n / run.bytes) * 100).toFixed(0)}%) | ${per(run.d.log)} | ${per(run.d.wal)} | ${median.toFixed(0)} msg/s |`,
      );
    }
  }
  // back to what the migrations set
  await prisma.$executeRawUnsafe(
    `ALTER TABLE messages ALTER COLUMN raw SET STORAGE ${current!.storage === 'e' ? 'EXTERNAL' : 'EXTENDED'}, ALTER COLUMN raw SET COMPRESSION ${current!.compression === 'l' ? 'lz4' : current!.compression === 'p' ? 'pglz' : 'DEFAULT'}`,
  );
  console.log('');
  console.log(`RESULT storage per stored message (${trials} trial(s) per mode, interleaved; octets; a CHECKPOINT before each run):`);
  console.log(
    '| message | octets stored | raw compression | messages heap | TOAST (+ its index) | indexes | message_parts (+ its index) | total (% of size) | delivery_log | WAL written | rate (median) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

const server = await acquireTestServer();
// the WAL of a server in service, not of a cluster fresh from initdb (as in bench/dovecot.ts)
console.log(`WAL: ${await benchmarkWal(server.adminUrl)}`);
const db = await createTestDatabase(server.adminUrl, 'ingress_bench');
const prisma = createPrismaClient(db.url, { maxConnections: 10, applicationName: 'ingress-bench' });
try {
  const backend = await prisma.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
  postmaster = procStat(backend[0]!.pid)?.ppid ?? 0;
  const settings = await prisma.$queryRaw<{ name: string; setting: string }[]>`
    SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes', 'commit_delay', 'huge_pages_status')`;
  // shared memory in transparent huge pages shows as huge_pages_status=off (packages/db src/huge-pages.ts)
  console.log(`postgres: ${settings.map((s) => `${s.name}=${s.setting}`).join(' ')} shmem_enabled=${(await shmemThpMode()) ?? 'n/a'}`);
  console.log(mallocNote());
  await prisma.$executeRawUnsafe('CREATE TEMP TABLE IF NOT EXISTS bench_commit (v int)');
  const n = 300;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await prisma.$executeRaw`INSERT INTO bench_commit VALUES (${i})`;
  const commitMs = (performance.now() - t0) / n;
  console.log(`one durable single-row commit through Prisma, serially: ${commitMs.toFixed(2)} ms (${(1000 / commitMs).toFixed(0)}/s)`);

  const owner = await prisma.user.create({ data: { email: `bench-${Date.now()}@example.com`, passwordHash: 'x', role: 'OWNER' } });
  const domain = await prisma.domain.create({
    data: { name: `bench${Date.now()}.example.com`, ownerId: owner.id, verifiedAt: new Date() },
  });
  const boxes = await Promise.all(
    Array.from({ length: CONNECTIONS }, (_, i) =>
      prisma.mailbox.create({ data: { domainId: domain.id, localPart: `user${i}`, passwordHash: 'x' } }),
    ),
  );
  const recipients = boxes.map((b) => `${b.localPart}@${domain.name}`);

  const startIngress = async (deliveryLog: boolean) => {
    const ing = createIngress({
      prisma,
      logger: createLogger('ingress-bench', 'warn'),
      config: { host: '127.0.0.1', lmtpPort: 0, smtpPort: 0, metricsPort: null, smtpEnabled: false, hostname: 'bench.test', deliveryLog },
    });
    await ing.listen();
    return ing;
  };
  const ingress = await startIngress(true);

  await measure('warm-up', ingress, 25, 10 * 1024, recipients);
  // three trials each: the machine is shared, so report the median and the spread
  const trials = async (label: string, perConnection: number, size: number, rcpts: string[], ing = ingress) => {
    const runs = [];
    for (let i = 1; i <= TRIALS; i++) runs.push(await measure(`${label} [trial ${i}/${TRIALS}]`, ing, perConnection, size, rcpts));
    const sorted = [...runs].sort((a, b) => a.rate - b.rate);
    return {
      ...sorted[Math.floor(sorted.length / 2)]!,
      ok: runs.reduce((a, r) => a + r.ok, 0),
      min: sorted[0]!.rate,
      max: sorted[sorted.length - 1]!.rate,
    };
  };
  if (ONLY_LOG) {
    // `--first=off` measures without the log first (the second case runs on a database the first one filled)
    const quiet = await startIngress(false);
    const run = (on: boolean) =>
      trials(`10 KB x ${CONNECTIONS} connections, DELIVERY_LOG=${on ? 'on' : 'off'}`, 300, 10 * 1024, recipients, on ? ingress : quiet);
    const offFirst = arg('first') === 'off';
    const first = await run(!offFirst);
    const second = await run(offFirst);
    const [on, off] = offFirst ? [second, first] : [first, second];
    await Promise.all([ingress.close(), quiet.close()]);
    const logged = await prisma.deliveryLogEntry.count({ where: { domainId: domain.id } });
    console.log(`check: ${logged} delivery log entries for ${25 * CONNECTIONS + on.ok} deliveries with the log on`);
    const slowdown = 1 - on.rate / off.rate;
    console.log('');
    console.log(
      `RESULT 10 KB LMTP over ${CONNECTIONS} connections: DELIVERY_LOG=on ${on.rate.toFixed(0)} msg/s, DELIVERY_LOG=off ${off.rate.toFixed(0)} msg/s`,
    );
    console.log(
      `RESULT delivery log cost: ${(slowdown * 100).toFixed(1)}% slower vs target <= ${MAX_LOG_SLOWDOWN * 100}%: ${slowdown <= MAX_LOG_SLOWDOWN ? 'MET' : 'NOT MET'} (${TRIALS} trial(s) each, load average ${os.loadavg()[0]!.toFixed(1)})`,
    );
  } else if (ONLY === 'storage') {
    await storageCost(ingress, recipients, TRIALS);
    await ingress.close();
  } else if (ONLY === 'churn') {
    // Each trial follows the collection of the previous one's mail: every message deleted (its parts with it, by the
    // trigger) and message_parts vacuumed, as autovacuum does on a host whose clients collect and delete. The trial's
    // COPY then fills the freed pages, or, with vacuum_truncate on for that VACUUM (the emptied pages at the file's end
    // cut off), appends to the file as into a new table.
    const churnTrial = async (append: boolean, label: string) => {
      await prisma.$executeRawUnsafe(`ALTER TABLE message_parts SET (vacuum_truncate = ${append})`);
      await prisma.$executeRawUnsafe('DELETE FROM messages');
      await prisma.$executeRawUnsafe('VACUUM message_parts');
      const pages = await prisma.$queryRaw<{ n: bigint }[]>`SELECT pg_relation_size('message_parts') / 8192 AS n`;
      console.log(`message_parts after the deletes and VACUUM: ${pages[0]!.n} pages`);
      return measure(label, ingress, PER_1MB, 1024 * 1024, recipients);
    };
    await measure('fill (not counted)', ingress, PER_1MB, 1024 * 1024, recipients);
    const rates: Record<'reused' | 'appended', number[]> = { reused: [], appended: [] };
    for (let i = 1; i <= TRIALS; i++) {
      for (const append of i % 2 ? [false, true] : [true, false]) {
        const label = `1 MB x ${CONNECTIONS} connections after deletes, ${append ? 'appended' : 'into the freed pages'} [trial ${i}/${TRIALS}]`;
        rates[append ? 'appended' : 'reused'].push((await churnTrial(append, label)).rate);
      }
    }
    await prisma.$executeRawUnsafe('ALTER TABLE message_parts RESET (vacuum_truncate)');
    await ingress.close();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const range = (xs: number[]) => `${Math.min(...xs).toFixed(1)}..${Math.max(...xs).toFixed(1)}`;
    console.log(
      `RESULT 1mb LMTP after deletes over ${CONNECTIONS} connections: into the freed pages ${median(rates.reused).toFixed(1)} msg/s ` +
        `(trials ${range(rates.reused)}), appended ${median(rates.appended).toFixed(1)} msg/s (trials ${range(rates.appended)}); ` +
        `load average ${os.loadavg()[0]!.toFixed(1)}`,
    );
  } else if (ONLY === '10kb' || ONLY === '1mb') {
    const r =
      ONLY === '10kb'
        ? await trials(`10 KB x ${CONNECTIONS} connections (1 mailbox each)`, 300, 10 * 1024, recipients)
        : await trials(`1 MB x ${CONNECTIONS} connections`, PER_1MB, 1024 * 1024, recipients);
    console.log(
      `RESULT ${ONLY} LMTP over ${CONNECTIONS} connections: median ${r.rate.toFixed(1)} msg/s (trials ${r.min.toFixed(1)}..${r.max.toFixed(1)}); load average ${os.loadavg()[0]!.toFixed(1)}`,
    );
    await ingress.close();
  } else {
    const small = await trials(`10 KB x ${CONNECTIONS} connections (1 mailbox each)`, 300, 10 * 1024, recipients);
    const same = await trials(`10 KB x ${CONNECTIONS} connections (all to 1 mailbox)`, 150, 10 * 1024, recipients.slice(0, 1));
    const big = await trials(`1 MB x ${CONNECTIONS} connections`, PER_1MB, 1024 * 1024, recipients);

    const totals = await prisma.mailbox.aggregate({ where: { domainId: domain.id }, _sum: { messageCount: true, usedBytes: true } });
    const d = await prisma.domain.findUniqueOrThrow({ where: { id: domain.id } });
    const delivered = 25 * CONNECTIONS + small.ok + same.ok + big.ok;
    console.log(
      `check: ${totals._sum.messageCount} messages stored for ${delivered} accepted; domain used_bytes ${d.usedBytes === totals._sum.usedBytes ? 'equals' : 'DIFFERS FROM'} the mailbox sum`,
    );

    console.log('');
    const spread = (r: { min: number; max: number }, digits = 0) => `(trials ${r.min.toFixed(digits)}..${r.max.toFixed(digits)})`;
    console.log(
      `RESULT 10 KB LMTP over ${CONNECTIONS} connections: median ${small.rate.toFixed(0)} msg/s ${spread(small)} vs target >= ${TARGET_10KB_PER_S} msg/s: ${small.rate >= TARGET_10KB_PER_S ? 'MET' : 'NOT MET'}; machine load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores`,
    );
    console.log(`RESULT 10 KB, all ${CONNECTIONS} connections to one mailbox: median ${same.rate.toFixed(0)} msg/s ${spread(same)}`);
    console.log(
      `RESULT 1 MB LMTP over ${CONNECTIONS} connections: median ${big.rate.toFixed(1)} msg/s = ${((big.rate * big.bytes) / 1048576).toFixed(1)} MiB/s ${spread(big, 1)} vs target >= ${TARGET_1MB_PER_S} msg/s (Dovecot 2.3 maildir on this machine: 159): ${big.rate >= TARGET_1MB_PER_S ? 'MET' : 'NOT MET'}`,
    );
    console.log('');
    await storageCost(ingress, recipients, 1);
    await ingress.close();
  }
} finally {
  await prisma.$disconnect();
  await db.drop().catch(() => undefined);
  await server.stop();
}
