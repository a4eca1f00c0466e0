/**
 * Mailroom beside Dovecot 2.3 on this machine, in one run, with the same clients (`npm run bench -- dovecot`; issue 17).
 * Dovecot runs as its own instance (maildir, its default mail_fsync=optimized) from a temporary directory on free
 * ports, never the system service. Mailroom runs its real entry points (packages/ingress and packages/pop3 src/main.ts)
 * as processes over a fresh database on the embedded PostgreSQL, whose WAL is first brought to the state of a server in
 * service (steadyStateWal in @mailroom/db/testing). Trials alternate between the two (D, M, D, M, ...), so
 * noise from other work on the machine hits both alike. Without Dovecot it prints how to install it and exits 0.
 * Nothing here is a test and nothing asserts a time.
 */
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createPasswordHasher } from '@mailroom/core';
import { createPrismaClient, MALLOC_TUNABLES, postgresMallocTunables, shmemThpMode, withMallocTuning } from '@mailroom/db';
import { acquireTestServer, benchmarkWal, createTestDatabase, findFreePorts } from '@mailroom/db/testing';
import { workspaceMallocHugePages } from '@mailroom/runtime';
import { machineBusyCpuMs, procStat, processTreeCpuMs, startEntry } from '@mailroom/runtime/testing';
import { dotStuff, WireClient } from '../src/testing/wire-client.ts';
import { runLoad, type BodyKind } from './load-process.ts';

const USAGE = `usage: npx tsx bench/dovecot.ts [--trials=N] [--only=10kb|1mb|retr] [--body=text|attachment]
  --trials=N   trials per case and server (default 3), interleaved D, M, D, M, ...; the median and the range are reported
  --only=CASE  one case: 10kb or 1mb (LMTP, 8 connections) or retr (POP3 RETR of a 50 MiB message: one downloaded
               again and again, then a new one delivered before each trial). For comparing two builds: a case alone
               does not follow the others, and its ratios differ from the whole run's (the 1 MB ratio about a sixth
               lower alone: Mailroom's per-message code still being compiled, Dovecot's maildirs still empty; ingress
               README, 1 MB ingest, item 30)
  --per=N      1 MB messages per connection in each trial (default 16; longer trials reach PostgreSQL's checkpoints
               and have less start and end in them)
  --warmup-1mb=N  1 MB messages per connection sent to each server, not measured, before the 1 MB trials (default 32;
               0 measures from cold: see WARMUP_1MB_PER)
  --body=KIND  LMTP message bodies: text (default, one repeated line) or attachment (base64 of random octets)
  --fresh-wal  leave Mailroom's PostgreSQL as initdb made it: no recycled WAL segments (see steadyStateWal in packages/db/src/testing)
  --dovecot-malloc=mailroom  run Dovecot's processes with Mailroom's glibc malloc settings (MALLOC_TUNABLES) instead of
               glibc's defaults, as Dovecot is packaged`;
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
if (process.argv.includes('--help')) {
  console.log(USAGE);
  process.exit(0);
}
const TRIALS = Math.max(1, Number(arg('trials') ?? 3));
const ONLY = arg('only');
const BODY = (arg('body') ?? 'text') as BodyKind;
const PER_1MB = Number(arg('per') ?? 16);
/**
 * The 1 MB trials measure servers in their steady state, as a mail host runs for weeks: before them each server takes
 * 8 × 32 MB of the same messages, unmeasured (Dovecot the same). Each PostgreSQL backend maps a page of shared memory
 * (buffers, WAL buffers) the first time it touches it, one page fault per 4 KiB, and on the development machine (a
 * virtual machine) a fault costs about 12 µs: without the warm-up (`--warmup-1mb=0`, 2026-12-03) Mailroom's PostgreSQL
 * spent 12.5 and 11.5 ms of CPU per message in the first two trials and 7.1-9.2 in the last three (ingress README, item 14).
 */
const WARMUP_1MB_PER = Number(arg('warmup-1mb') ?? 32);
const DOVECOT_MALLOC = arg('dovecot-malloc') ?? 'default';
if (
  !['default', 'mailroom'].includes(DOVECOT_MALLOC) ||
  (ONLY && !['10kb', '1mb', 'retr'].includes(ONLY)) ||
  !['text', 'attachment'].includes(BODY) ||
  !Number.isInteger(PER_1MB) ||
  PER_1MB < 1 ||
  !Number.isInteger(WARMUP_1MB_PER) ||
  WARMUP_1MB_PER < 0
) {
  console.error(USAGE);
  process.exit(2);
}

const DOVECOT = '/usr/sbin/dovecot';
const INSTALL = 'apt-get install -y dovecot-pop3d dovecot-lmtpd';
const missing = [DOVECOT, '/usr/lib/dovecot/lmtp', '/usr/lib/dovecot/pop3'].filter((f) => !existsSync(f));
if (missing.length) {
  console.log(`dovecot benchmark skipped: Dovecot is not installed (no ${missing.join(', ')}); install it with \`${INSTALL}\``);
  process.exit(0);
}
if (process.getuid?.() !== 0) {
  console.log('dovecot benchmark skipped: its own Dovecot instance needs root (Dovecot switches to its `dovecot` user); run it as root');
  process.exit(0);
}

const CONNECTIONS = 8;
/** Other work (median over the trials) above which the figures are flagged as unreliable. */
const MAX_OTHER_CORES = 0.25;
const MiB = 1024 * 1024;
const PASSWORD = 'bench-password-123';
/** Cheap argon2 for the Mailroom mailboxes: logins are not what is measured here (Dovecot's passwd-file is PLAIN). */
const CHEAP_ARGON2 = { memoryKib: 1024, timeCost: 1, parallelism: 1 };
/** Dovecot's users; Mailroom's are the same local parts in a domain of their own. */
const DOVECOT_DOMAIN = 'bench.test';
const LOCAL_PARTS = [...Array.from({ length: CONNECTIONS }, (_, i) => `u${i + 1}`), 'big'];
const HERE = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const INGRESS_DIR = HERE('..');
const POP3_DIR = HERE('../../pop3');
/**
 * Each Mailroom service's malloc settings, as `npm start` and the images give them: huge pages for the POP3 service
 * (it verifies passwords), not for the ingress (an operator's own are kept for both).
 */
const SERVICE_TUNABLES = {
  ingress: withMallocTuning(process.env, workspaceMallocHugePages(INGRESS_DIR)).GLIBC_TUNABLES,
  pop3: withMallocTuning(process.env, workspaceMallocHugePages(POP3_DIR)).GLIBC_TUNABLES,
};
const run = promisify(execFile);

// --- cleanup of everything started, in reverse order, also on Ctrl-C or SIGTERM
const cleanups: (() => unknown)[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        console.error(`cleanup: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    console.log(`\n${signal}: stopping Dovecot, the Mailroom services and the database`);
    void cleanup().finally(() => process.exit(130));
  });

/** Roots of the process trees this benchmark measures: itself (load generators, services, PostgreSQL) and Dovecot. */
const measuredRoots = [process.pid];
/** CPU ms the machine spent outside the measured processes so far (other work, the hypervisor's steal). */
const otherCpuMs = () => machineBusyCpuMs() - measuredRoots.reduce((a, pid) => a + processTreeCpuMs(pid), 0);
/** Cores of other work during each trial: a busy machine makes the figures noisy. */
const otherCores: number[] = [];
/**
 * Cores the machine left idle during each trial (`/proc/stat`): what no process could use, because everything was
 * waiting (for a lock, a flush, the next message), so a server that leaves more idle is bound by its waits, not by CPU.
 */
const idleCores: number[] = [];
/** Runs `work` and records how many cores other work took meanwhile, and how many stayed idle. */
async function besideOtherWork<T>(work: () => Promise<T>): Promise<T> {
  const [o0, b0, t0] = [otherCpuMs(), machineBusyCpuMs(), performance.now()];
  const r = await work();
  const wall = performance.now() - t0;
  otherCores.push((otherCpuMs() - o0) / wall);
  idleCores.push(Math.max(0, os.availableParallelism() - (machineBusyCpuMs() - b0) / wall));
  return r;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** A server under test, as the benchmark sees it. */
interface Side {
  name: 'Dovecot' | 'Mailroom';
  lmtpPort: number;
  pop3Port: number;
  /** LMTP recipient of connection n: recipients[n]; `big` gets the 50 MiB message. */
  recipients: string[];
  big: string;
  /** CPU ms the server has used so far, per part (Dovecot: its whole process tree; Mailroom: service, PostgreSQL). */
  cpu(service: 'ingress' | 'pop3'): Record<string, number>;
}

// --- Dovecot: its own instance in a temporary directory
async function startDovecot(): Promise<Side & { version: string; fsync: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-dovecot-bench-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755); // Dovecot's mail processes run as `dovecot` and must reach mail/
  const id = (flag: string) => Number(execFileSync('id', [flag, 'dovecot'], { encoding: 'utf8' }).trim());
  const mail = path.join(dir, 'mail');
  await mkdir(mail);
  await chown(mail, id('-u'), id('-g'));
  const users = LOCAL_PARTS.map((l) => `${l}@${DOVECOT_DOMAIN}`);
  await writeFile(path.join(dir, 'passwd'), users.map((u) => `${u}:{PLAIN}${PASSWORD}\n`).join(''));
  const [lmtpPort, pop3Port] = (await findFreePorts(2)) as [number, number];
  const conf = path.join(dir, 'dovecot.conf');
  // the verified minimal configuration; mail_fsync stays at its default (optimized)
  await writeFile(
    conf,
    `base_dir = ${dir}/run
instance_name = mailroom-bench-${path.basename(dir)}
protocols = pop3 lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
log_path = ${dir}/dovecot.log
mail_location = maildir:${mail}/%u
mail_uid = dovecot
mail_gid = dovecot
first_valid_uid = 1
${DOVECOT_MALLOC === 'mailroom' ? `import_environment = TZ CORE_OUTOFMEM CORE_ERROR GLIBC_TUNABLES=${MALLOC_TUNABLES}\n` : ''}passdb {
  driver = passwd-file
  args = scheme=PLAIN ${dir}/passwd
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=${mail}/%u
}
service pop3-login {
  inet_listener pop3 {
    port = ${pop3Port}
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${lmtpPort}
  }
}
service imap-login {
  inet_listener imap {
    port = 0
  }
}
`,
  );
  // the master daemonizes and writes base_dir/master.pid; the daemon keeps the start command's stdout and stderr, so
  // they go to a file (a pipe would never close)
  const startLog = await open(path.join(dir, 'start.log'), 'w');
  // glibc's defaults for the master too (its children only see what import_environment names)
  const env = { ...process.env, GLIBC_TUNABLES: DOVECOT_MALLOC === 'mailroom' ? MALLOC_TUNABLES : undefined };
  const started = spawnSync(DOVECOT, ['-c', conf], { stdio: ['ignore', startLog.fd, startLog.fd], env });
  await startLog.close();
  if (started.status !== 0) throw new Error(`dovecot -c ${conf}: ${await readFile(path.join(dir, 'start.log'), 'utf8')}`);
  let master = 0;
  cleanups.push(async () => {
    await run(DOVECOT, ['-c', conf, 'stop']).catch(() => undefined);
    for (let i = 0; i < 100 && master && procStat(master); i++) await sleep(50);
    if (master && procStat(master)) process.kill(master, 'SIGKILL');
  });
  for (let i = 0; i < 200; i++) {
    master = Number((await readFile(path.join(dir, 'run/master.pid'), 'utf8').catch(() => '')).trim());
    if (master && (await accepts(lmtpPort)) && (await accepts(pop3Port))) break;
    await sleep(50);
  }
  if (!master || !(await accepts(lmtpPort))) throw new Error(`Dovecot did not start: ${await readFile(`${dir}/dovecot.log`, 'utf8')}`);
  measuredRoots.push(master);
  return {
    name: 'Dovecot',
    version: execFileSync(DOVECOT, ['--version'], { encoding: 'utf8' }).trim(),
    fsync: execFileSync('doveconf', ['-c', conf, '-h', 'mail_fsync'], { encoding: 'utf8' }).trim(),
    lmtpPort,
    pop3Port,
    recipients: users.slice(0, CONNECTIONS),
    big: users[CONNECTIONS]!,
    cpu: () => ({ Dovecot: processTreeCpuMs(master) }),
  };
}

// --- Mailroom: a fresh database and the real entry points
async function startMailroom(): Promise<Side & { settings: string; wal: string }> {
  const pg = await acquireTestServer();
  cleanups.push(() => pg.stop());
  const wal = await benchmarkWal(pg.adminUrl);
  const db = await createTestDatabase(pg.adminUrl, 'dovecot_bench');
  cleanups.push(() => db.drop());
  const prisma = createPrismaClient(db.url, { maxConnections: 2, applicationName: 'dovecot-bench' });
  cleanups.push(() => prisma.$disconnect());
  const [backend] = await prisma.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
  // the postmaster of the bench database: it and its children (backends, WAL writer, checkpointer) are PostgreSQL's cost
  const postmaster = procStat(backend!.pid)!.ppid;
  const settings = await prisma.$queryRaw<{ name: string; setting: string }[]>`
    SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes', 'huge_pages_status') ORDER BY name`;

  const owner = await prisma.user.create({ data: { email: `bench-${Date.now()}@example.com`, passwordHash: 'x', role: 'OWNER' } });
  const domain = await prisma.domain.create({
    data: { name: `dovecot-bench-${Date.now().toString(36)}.example`, ownerId: owner.id, verifiedAt: new Date() },
  });
  const passwordHash = await createPasswordHasher(CHEAP_ARGON2).hash(PASSWORD);
  await prisma.mailbox.createMany({ data: LOCAL_PARTS.map((localPart) => ({ domainId: domain.id, localPart, passwordHash })) });
  const users = LOCAL_PARTS.map((l) => `${l}@${domain.name}`);

  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-dovecot-bench-data-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const common = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    DATABASE_URL: db.url,
    MAILROOM_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
  };
  const ingress = await startEntry(
    'src/main.ts',
    {
      ...common,
      // as `npm start` and the images run the services (PostgreSQL, from acquireTestServer, has its own)
      GLIBC_TUNABLES: SERVICE_TUNABLES.ingress,
      LMTP_PORT: '0',
      SMTP_PORT: '0',
      INGRESS_METRICS_PORT: '0',
      INGRESS_SMTP_ENABLED: 'false',
      INGRESS_MAX_MESSAGE_BYTES: String(100 * MiB),
      INGRESS_MAX_CONNECTIONS: '1000',
      INGRESS_MAX_CONNECTIONS_PER_IP: '0',
      INGRESS_MAX_CONNECTIONS_PER_IP_PER_MINUTE: '0',
      INGRESS_MAX_MESSAGES_PER_IP_PER_MINUTE: '0',
    },
    INGRESS_DIR,
  );
  cleanups.push(() => ingress.stop());
  const pop3 = await startEntry(
    'src/main.ts',
    {
      ...common,
      GLIBC_TUNABLES: SERVICE_TUNABLES.pop3,
      POP3_PORT: '0',
      POP3S_PORT: '0',
      POP3_METRICS_PORT: '0',
      POP3_MAX_CONNECTIONS: '10000',
      POP3_MAX_CONNECTIONS_PER_IP: '10000',
      ARGON2_MEMORY_KIB: String(CHEAP_ARGON2.memoryKib),
      ARGON2_TIME_COST: String(CHEAP_ARGON2.timeCost),
      ARGON2_PARALLELISM: String(CHEAP_ARGON2.parallelism),
    },
    POP3_DIR,
  );
  cleanups.push(() => pop3.stop());
  const pids = { ingress: ingress.child.pid!, pop3: pop3.child.pid! };
  return {
    name: 'Mailroom',
    // shared memory in transparent huge pages shows as huge_pages_status=off (packages/db src/huge-pages.ts)
    settings: `${settings.map((s) => `${s.name}=${s.setting}`).join(' ')} shmem_enabled=${(await shmemThpMode()) ?? 'n/a'}`,
    wal,
    lmtpPort: ingress.listening.lmtpPort as number,
    pop3Port: pop3.listening.pop3 as number,
    recipients: users.slice(0, CONNECTIONS),
    big: users[CONNECTIONS]!,
    cpu: (service) => ({ [service]: processTreeCpuMs(pids[service]), PostgreSQL: processTreeCpuMs(postmaster) }),
  };
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
function cpuDelta(side: Side, service: 'ingress' | 'pop3', before: Record<string, number>): Record<string, number> {
  const after = side.cpu(service);
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}
/** `0.41 ms` for Dovecot, `0.52 ingress + 0.31 PostgreSQL = 0.83 ms` for Mailroom. */
function cpuText(parts: Record<string, number>, unit: string, digits: number): string {
  const entries = Object.entries(parts);
  if (entries.length === 1) return `${entries[0]![1].toFixed(digits)} ${unit}`;
  return `${entries.map(([k, v]) => `${v.toFixed(digits)} ${k}`).join(' + ')} = ${sum(parts).toFixed(digits)} ${unit}`;
}

interface Trial {
  value: number;
  /** Server CPU per unit (per message, per download), by part. */
  cpu: Record<string, number>;
  /** Server CPU ms per wall ms: how many of the 2 cores the server kept busy. */
  cores: number;
  /** Cores the whole machine left idle meanwhile (LMTP trials). */
  idle?: number;
}

// --- LMTP: the load generator (bench/load.ts) as its own process, 8 connections, one mailbox each
async function lmtpTrial(side: Side, label: string, size: number, perConnection: number): Promise<Trial> {
  const before = side.cpu('ingress');
  const r = await besideOtherWork(() =>
    runLoad({ port: side.lmtpPort, connections: CONNECTIONS, perConnection, size, recipients: side.recipients, body: BODY }),
  );
  const cpu = cpuDelta(side, 'ingress', before);
  const rate = (r.ok / r.elapsedMs) * 1000;
  const perMsg = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / Math.max(1, r.ok)]));
  console.log(
    `  ${label}, ${side.name.padEnd(8)}: ${r.ok} delivered${r.failed ? ` (${r.failed} FAILED)` : ''} in ${(r.elapsedMs / 1000).toFixed(1)} s = ` +
      `${rate.toFixed(rate < 100 ? 1 : 0)} msg/s, ${((rate * r.bytes) / MiB).toFixed(1)} MiB/s; latency p50 ${r.p50.toFixed(1)} ms ` +
      `p99 ${r.p99.toFixed(1)} ms; server CPU per message ${cpuText(perMsg, 'ms', 2)} (${(sum(cpu) / r.elapsedMs).toFixed(2)} cores); ` +
      `load generator ${(r.cpuMs / Math.max(1, r.ok)).toFixed(2)} ms; other work ${otherCores.at(-1)!.toFixed(2)} cores; ` +
      `idle ${idleCores.at(-1)!.toFixed(2)} cores`,
  );
  return { value: rate, cpu: perMsg, cores: sum(cpu) / r.elapsedMs, idle: idleCores.at(-1)! };
}

// --- RETR of one 50 MiB message: the same octets delivered to both through LMTP first
/** An attachment-like message: base64 lines of random octets, with a line starting with a dot now and then. */
function bigMessage(size: number): Buffer {
  const head =
    'From: bench@example.org\r\nTo: big\r\nSubject: 50 MiB\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n';
  const lines: string[] = [];
  const rnd = randomBytes(57 * 4096);
  let n = head.length;
  for (let i = 0; n < size; i++) {
    const at = (i * 57) % (rnd.length - 57);
    const line = i % 50 === 49 ? '.a line that starts with a dot' : rnd.toString('base64', at, at + 57);
    lines.push(line);
    n += line.length + 2;
  }
  return Buffer.from(`${head}${lines.join('\r\n')}\r\n`, 'latin1');
}

async function deliverOne(side: Side, raw: Buffer): Promise<void> {
  const c = await WireClient.connect(side.lmtpPort);
  try {
    for (const cmd of ['LHLO bench.test', 'MAIL FROM:<bench@example.org>', `RCPT TO:<${side.big}>`]) {
      const r = await c.command(cmd);
      if (r.code !== 250) throw new Error(`${side.name} LMTP ${cmd}: ${r.code} ${r.text}`);
    }
    const data = await c.command('DATA');
    if (data.code !== 354) throw new Error(`${side.name} LMTP DATA: ${data.code} ${data.text}`);
    c.write(dotStuff(raw));
    const r = await c.read();
    if (r.code !== 250) throw new Error(`${side.name} LMTP after DATA: ${r.code} ${r.text}`);
  } finally {
    await c.quit();
  }
}

interface Download {
  octets: number;
  seconds: number;
  /** Server CPU ms by part. */
  cpu: Record<string, number>;
  /** The client's own CPU seconds, where it reports them. */
  clientCpu?: number;
}

/** packages/pop3/bench/retr-client.ts in its own process: logs in, then times RETR `msg` to its terminator when told. */
async function retrNode(side: Side, msg = 1): Promise<Download> {
  const args = ['--import', 'tsx', 'bench/retr-client.ts', String(side.pop3Port), side.big, PASSWORD, String(msg)];
  const child = spawn(process.execPath, args, {
    cwd: POP3_DIR,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const kill = () => child.kill();
  cleanups.push(kill);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  while (!out.includes('ready\n')) {
    if (child.exitCode !== null) throw new Error(`retr-client exited ${child.exitCode}: ${out}`);
    await Promise.race([new Promise((r) => child.stdout.once('data', r)), exited]);
  }
  const before = side.cpu('pop3');
  child.stdin.write('go\n');
  const code = await exited;
  const cpu = cpuDelta(side, 'pop3', before);
  cleanups.splice(cleanups.indexOf(kill), 1);
  if (code !== 0) throw new Error(`retr-client exited ${code}: ${out}`);
  const [octets, seconds, clientCpu] = out.split('ready\n')[1]!.trim().split(' ').map(Number) as [number, number, number];
  return { octets, seconds, clientCpu, cpu };
}

/** Where curl writes the message: memory (tmpfs) where there is one, so no disk write is timed. */
const CURL_OUT = path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), `mailroom-dovecot-bench-${process.pid}.eml`);
cleanups.push(() => rm(CURL_OUT, { force: true }));

/**
 * curl's POP3 client (C, libcurl): login, RETR 1 into a file, QUIT; the transfer is its total time after login (libcurl's
 * size counters do not count a POP3 body, so the octets are the file's size: the message as stored, unstuffed).
 */
async function retrCurl(side: Side): Promise<Download> {
  const before = side.cpu('pop3');
  const { stdout } = await run('curl', [
    '-sS',
    '-u',
    `${side.big}:${PASSWORD}`,
    `pop3://127.0.0.1:${side.pop3Port}/1`,
    '-o',
    CURL_OUT,
    '-w',
    '%{time_pretransfer} %{time_total}',
  ]);
  const cpu = cpuDelta(side, 'pop3', before);
  const [pre, total] = stdout.trim().split(' ').map(Number) as [number, number];
  const { size } = await stat(CURL_OUT);
  await rm(CURL_OUT);
  return { octets: size, seconds: total - pre, cpu };
}

// --- main
const started = Date.now();
const loadAtStart = os.loadavg();
console.log(
  `Mailroom beside Dovecot — ${os.availableParallelism()} cores, ${os.cpus()[0]?.model ?? ''}, Node ${process.version}; ` +
    `load average at start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}`,
);
if (loadAtStart[0]! > 2)
  console.log(`WARNING: load average ${loadAtStart[0]!.toFixed(2)} > 2: other work is running, figures are unreliable`);

const rows: string[] = [];
/** Per LMTP case, the median of the cores left idle during each side's trials (printed under the table). */
const idleLines: string[] = [];
try {
  const dovecot = await startDovecot();
  const mailroom = await startMailroom();
  const sides: Side[] = [dovecot, mailroom];
  console.log(
    `Dovecot ${dovecot.version}: maildir, mail_fsync=${dovecot.fsync} (its default); LMTP :${dovecot.lmtpPort}, POP3 :${dovecot.pop3Port}`,
  );
  console.log(
    `Mailroom: ingress and POP3 src/main.ts; PostgreSQL ${mailroom.settings}; LMTP :${mailroom.lmtpPort}, POP3 :${mailroom.pop3Port}`,
  );
  console.log(`Mailroom's WAL: ${mailroom.wal}`);
  console.log(
    `malloc: Mailroom's ingress GLIBC_TUNABLES=${SERVICE_TUNABLES.ingress}, POP3 ${SERVICE_TUNABLES.pop3}, PostgreSQL ${postgresMallocTunables(process.env)}; ` +
      (DOVECOT_MALLOC === 'mailroom'
        ? `Dovecot ${MALLOC_TUNABLES} (--dovecot-malloc=mailroom)`
        : "Dovecot glibc's defaults, as packaged (--dovecot-malloc=mailroom: Mailroom's PostgreSQL settings)"),
  );
  console.log(
    'durability: both reply only once a message is on disk. Dovecot (mail_fsync=optimized) fsyncs each message file, moves it into\n' +
      '  new/ and fdatasyncs that directory before its LMTP 250 (index and dovecot-uidlist are not synced: rebuilt from the maildir);\n' +
      '  Mailroom replies after its PostgreSQL commit with synchronous_commit=on (WAL flushed; concurrent deliveries share a flush).',
  );

  const row = (measure: string, unit: string, cpuUnit: string, cpuDigits: number, d: Trial[], m: Trial[], digits = 0) => {
    const fmt = (ts: Trial[]) => {
      const vs = ts.map((t) => t.value);
      return `${median(vs).toFixed(digits)} ${unit} (${Math.min(...vs).toFixed(digits)}..${Math.max(...vs).toFixed(digits)})`;
    };
    const cpu = (ts: Trial[]) => {
      const parts = Object.fromEntries(Object.keys(ts[0]!.cpu).map((k) => [k, median(ts.map((t) => t.cpu[k]!))]));
      return `${cpuText(parts, cpuUnit, cpuDigits)}, ${median(ts.map((t) => t.cores)).toFixed(2)} cores`;
    };
    const ratio = median(m.map((t) => t.value)) / median(d.map((t) => t.value));
    rows.push(`| ${measure} | ${fmt(d)} | ${fmt(m)} | ${ratio.toFixed(2)}× | ${cpu(d)} | ${cpu(m)} |`);
  };

  const lmtpCases = [
    { key: '10kb', label: '10 KB', size: 10 * 1024, per: 200 },
    { key: '1mb', label: '1 MB', size: 1024 * 1024, per: PER_1MB },
  ].filter((c) => !ONLY || ONLY === c.key);
  if (lmtpCases.length) {
    console.log('\nwarm-up: 8 connections × 20 × 10 KB to each');
    for (const side of sides) await lmtpTrial(side, 'warm-up', 10 * 1024, 20);
  }
  if (lmtpCases.some((c) => c.size >= MiB) && WARMUP_1MB_PER > 0) {
    console.log(`\nwarm-up: ${CONNECTIONS} connections × ${WARMUP_1MB_PER} × 1 MB to each (not measured; --warmup-1mb=0 skips it)`);
    for (const side of sides) await lmtpTrial(side, 'warm-up 1 MB', MiB, WARMUP_1MB_PER);
  }
  for (const c of lmtpCases) {
    console.log(`\nLMTP, ${CONNECTIONS} connections × ${c.per} messages of ${c.label} (${BODY}), ${TRIALS} trial(s) each, interleaved`);
    const results = new Map<Side, Trial[]>(sides.map((s) => [s, []]));
    for (let t = 1; t <= TRIALS; t++)
      for (const side of sides) results.get(side)!.push(await lmtpTrial(side, `${c.label} [${t}/${TRIALS}]`, c.size, c.per));
    row(
      `LMTP, ${CONNECTIONS} connections, ${c.label} messages`,
      'msg/s',
      'ms/msg',
      2,
      results.get(dovecot)!,
      results.get(mailroom)!,
      c.size >= MiB ? 1 : 0,
    );
    const idle = (side: Side) => median(results.get(side)!.map((t) => t.idle ?? 0)).toFixed(2);
    idleLines.push(`${c.label}: Dovecot ${idle(dovecot)}, Mailroom ${idle(mailroom)}`);
  }

  if (!ONLY || ONLY === 'retr') {
    const raw = bigMessage(50 * MiB);
    console.log(`\nPOP3 RETR of one 50 MiB message: delivering the same ${raw.length.toLocaleString('en')} octets to both through LMTP`);
    for (const side of sides) await deliverOne(side, raw);
    // Trial t of the first two series downloads message 1 again (in PostgreSQL's buffers, in Dovecot's page cache after
    // the first); the third delivers a new copy right before each trial and downloads that one, as a client collects
    // mail that just arrived (in the page cache on both sides, not yet in PostgreSQL's buffers).
    const clients = [
      { name: 'Node client (packages/pop3/bench/client.ts)', label: 'Node client', go: (side: Side) => retrNode(side) },
      { name: 'curl', label: 'curl', go: retrCurl },
      {
        name: 'Node client, each trial a message just delivered',
        label: 'Node client, a message just delivered',
        prepare: async () => {
          for (const side of sides) await deliverOne(side, raw);
        },
        // message 1 and one more before each trial so far: trial t's is message t + 1 on both servers
        go: (side: Side, t: number) => retrNode(side, t + 1),
      },
    ];
    for (const client of clients) {
      const results = new Map<Side, Trial[]>(sides.map((s) => [s, []]));
      for (let t = 1; t <= TRIALS; t++) {
        await client.prepare?.();
        for (const side of sides) {
          const r = await besideOtherWork(() => client.go(side, t));
          const mbps = r.octets / r.seconds / 1e6;
          const cpuS = Object.fromEntries(Object.entries(r.cpu).map(([k, v]) => [k, v / 1000]));
          console.log(
            `  RETR 50 MiB, ${client.name}, ${side.name.padEnd(8)} [${t}/${TRIALS}]: ${r.octets.toLocaleString('en')} octets in ` +
              `${(r.seconds * 1000).toFixed(0)} ms = ${mbps.toFixed(0)} MB/s; server CPU ${cpuText(cpuS, 's', 3)}` +
              (r.clientCpu === undefined ? '' : `; client CPU ${r.clientCpu.toFixed(3)} s`) +
              `; other work ${otherCores.at(-1)!.toFixed(2)} cores`,
          );
          results.get(side)!.push({ value: mbps, cpu: cpuS, cores: sum(cpuS) / r.seconds });
        }
      }
      row(`POP3 RETR of one 50 MiB message, ${client.label}`, 'MB/s', 's', 3, results.get(dovecot)!, results.get(mailroom)!);
    }
  }

  const loadAtEnd = os.loadavg()[0]!;
  console.log('');
  console.log(
    `RESULT Mailroom beside Dovecot ${dovecot.version.split(' ')[0]} (maildir) on this machine, ` +
      `same clients, ${TRIALS} trial(s) each interleaved: median (range); ratio = Mailroom / Dovecot (> 1: Mailroom faster)`,
  );
  console.log(
    '| measure | Dovecot | Mailroom | ratio (M/D) | server CPU, Dovecot (all processes) | server CPU, Mailroom (service + PostgreSQL) |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  if (idleLines.length) {
    console.log(
      `machine idle during the LMTP trials (median cores of ${os.availableParallelism()}, load generator included in the busy ones): ${idleLines.join('; ')}`,
    );
  }
  // the run itself keeps the cores busy, so the load average at end says little; the CPU outside the measured
  // processes during the trials says how much other work competed with them
  const otherMedian = median(otherCores);
  const otherMax = Math.max(...otherCores);
  console.log(
    `load average at start ${loadAtStart[0]!.toFixed(2)} (at end ${loadAtEnd.toFixed(2)}, this run included) on ${os.availableParallelism()} cores; ` +
      `other work during the trials (CPU outside the measured processes, steal included): median ${otherMedian.toFixed(2)} cores, ` +
      `max ${otherMax.toFixed(2)}; finished in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  if (loadAtStart[0]! > 2) console.log('WARNING: load average at start > 2: figures are unreliable');
  if (otherMedian > MAX_OTHER_CORES)
    console.log(`WARNING: other work took more than ${MAX_OTHER_CORES} cores during the trials: figures are unreliable`);
} finally {
  await cleanup();
}
