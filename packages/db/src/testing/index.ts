import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { findFreePort, SERVICE_MALLOC_TUNABLES, startEmbeddedPostgres, withDatabase, type RunningPostgres } from '../embedded.ts';
import { applyMigrations } from '../migrate.ts';
import { shmemThpMode, thpCoversSharedMemory } from '../huge-pages.ts';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * Backends of `applicationName` in the current database waiting for a lock, each with the backends it waits behind.
 * Ask on a connection outside any transaction: inside one, pg_stat_activity stays as it was first read.
 */
export async function lockWaiters(db: Pick<pg.Pool, 'query'>, applicationName: string): Promise<{ pid: number; blockers: number[] }[]> {
  const { rows } = await db.query<{ pid: number; blockers: number[] }>(
    `SELECT pid, pg_blocking_pids(pid) AS blockers FROM pg_stat_activity
      WHERE application_name = $1 AND wait_event_type = 'Lock' AND datname = current_database()`,
    [applicationName],
  );
  return rows;
}

/** Test helpers only ever touch a database on this machine (or a `postgres` compose service named explicitly). */
export function assertLocalDatabase(url: string): void {
  const host = new URL(url).hostname;
  if (!LOCAL_HOSTS.has(host) && process.env.MAILROOM_TEST_ALLOW_REMOTE_DB !== '1') {
    throw new Error(`refusing to run tests against non-local database host ${host}; set MAILROOM_TEST_ALLOW_REMOTE_DB=1 to override`);
  }
}

/**
 * The `GLIBC_TUNABLES` a running process started with (Linux `/proc`), or undefined when it had none. glibc cuts the
 * variable's value at each ':' in place as it reads it, so its settings show as separate entries; they are joined again.
 */
export async function glibcTunablesOf(pid: number): Promise<string | undefined> {
  const vars = (await readFile(`/proc/${pid}/environ`, 'latin1')).split('\0');
  const at = vars.findIndex((v) => v.startsWith('GLIBC_TUNABLES='));
  if (at < 0) return undefined;
  const value = [vars[at]!.slice('GLIBC_TUNABLES='.length)];
  for (const v of vars.slice(at + 1)) {
    if (!/^glibc\.[\w.]+=/.test(v)) break;
    value.push(v);
  }
  return value.join(':');
}

/** The kernel's huge page pool (Linux `/proc/meminfo`): pages reserved and their size in KiB; throws if it cannot tell. */
export async function kernelHugePages(): Promise<{ total: number; sizeKib: number }> {
  const info = await readFile('/proc/meminfo', 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
  const pool = { total: field('HugePages_Total'), sizeKib: field('Hugepagesize') };
  // never NaN: a test that asserts only when none are reserved must not skip its check because this misread the file
  if (!Number.isInteger(pool.total) || !Number.isInteger(pool.sizeKib)) throw new Error('no huge page fields in /proc/meminfo');
  return pool;
}

/**
 * Whether this host leaves PostgreSQL's shared memory in 4 KiB pages: none reserved and shared memory's transparent huge
 * pages off (as on CI's machines). Tests that expect the huge pages advice check it only then.
 */
export async function hostGivesNoHugePages(): Promise<boolean> {
  return (await kernelHugePages()).total === 0 && !thpCoversSharedMemory(await shmemThpMode());
}

/** For a benchmark's header: the glibc malloc settings of this process and of the embedded PostgreSQL it starts. */
export function mallocNote(): string {
  const own = process.env.GLIBC_TUNABLES;
  if (own === undefined)
    return "malloc: this process glibc's defaults (`npm run bench` gives it the services' SERVICE_MALLOC_TUNABLES), embedded PostgreSQL MALLOC_TUNABLES";
  if (own === SERVICE_MALLOC_TUNABLES)
    return 'malloc: this process SERVICE_MALLOC_TUNABLES, embedded PostgreSQL MALLOC_TUNABLES, as the services and PostgreSQL run';
  return `malloc: this process and embedded PostgreSQL GLIBC_TUNABLES=${own || "'' (glibc's defaults)"}`;
}

export interface TestServer {
  adminUrl: string;
  stop(): Promise<void>;
}

/**
 * The PostgreSQL server tests use: MAILROOM_TEST_PG_URL (an admin URL, set by the root test runner), else the server
 * of DATABASE_URL, else a private embedded cluster in a temporary directory (initdb takes about a second), stopped and
 * removed afterwards, so concurrent standalone runs never share, or stop, each other's server.
 */
export async function acquireTestServer(): Promise<TestServer> {
  const given =
    process.env.MAILROOM_TEST_PG_URL ?? (process.env.DATABASE_URL ? withDatabase(process.env.DATABASE_URL, 'postgres') : undefined);
  if (given) {
    assertLocalDatabase(given);
    return { adminUrl: given, stop: async () => undefined };
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-test-pg-'));
  let server: RunningPostgres;
  try {
    server = await startEmbeddedPostgres({ dataDir, port: 0 });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    adminUrl: server.adminUrl,
    async stop() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Creates an empty, migrated database with a unique name; returns its URL and a function that drops it. `migrationsDir`
 * migrates with other migrations (a data migration's test starts from the ones before it).
 */
export async function createTestDatabase(
  adminUrl: string,
  label = 'test',
  opts: { migrationsDir?: string } = {},
): Promise<{ url: string; drop(): Promise<void> }> {
  assertLocalDatabase(adminUrl);
  const name = `mailroom_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  await applyMigrations(url, opts.migrationsDir);
  return {
    url,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** The database URL inside a test worker (set by {@link vitestGlobalSetup}). */
export function testDatabaseUrl(): string {
  const url = process.env.MAILROOM_TEST_DATABASE_URL;
  if (!url) throw new Error('MAILROOM_TEST_DATABASE_URL is not set: add @mailroom/db/testing/global-setup to vitest globalSetup');
  return url;
}

/** Unique, readable names for test data, so test files can share one database and run in parallel. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}
/**
 * For benchmarks: gives a fresh cluster the WAL directory of one that has been running. PostgreSQL writes its WAL into
 * 16 MB segments, and at each checkpoint it renames the old ones for reuse (up to about max_wal_size), so a server in
 * service writes its WAL into files whose pages are already in the page cache. A cluster straight from initdb has one
 * segment and creates (and zero-fills) a new file for every 16 MB of its first max_wal_size or so, which is about the
 * whole of a benchmark run. On the development VM writing into page-cache pages the host has not backed yet costs
 * about 16 times more, and PostgreSQL's CPU per 1 MB message doubled from the second trial on: that measured the first
 * gigabyte of a cluster's life, not the service (root README, "Performance"). So `mib` of WAL (default max_wal_size)
 * is written as logical messages (WAL only, no table) and checkpointed, which leaves segments to reuse, as any server
 * has after its first checkpoints. Stored messages still go into new table pages. Returns a line for the report.
 */
export async function steadyStateWal(adminUrl: string, mib?: number): Promise<{ mib: number; segments: number; report: string }> {
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'mailroom-bench-wal' });
  await admin.connect();
  try {
    // pg_settings gives max_wal_size in MB whatever unit it was set in
    const setting = await admin.query<{ mib: number }>(`SELECT setting::int AS mib FROM pg_settings WHERE name = 'max_wal_size'`);
    const written = mib ?? setting.rows[0]!.mib;
    await admin.query(
      `SELECT count(pg_logical_emit_message(false, 'mailroom-bench', repeat('x', 1048576))) FROM generate_series(1, $1::int)`,
      [written],
    );
    await admin.query('CHECKPOINT');
    const wal = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_ls_waldir()');
    const segments = wal.rows[0]!.n;
    return {
      mib: written,
      segments,
      report: `${written} MiB of WAL written and checkpointed before the trials: ${segments} segments of 16 MiB in pg_wal`,
    };
  } finally {
    await admin.end();
  }
}

/**
 * A benchmark's WAL: steadyStateWal, or nothing when its command line has `--fresh-wal` (to measure a cluster as
 * initdb made it). Returns the line the benchmark prints about it.
 */
export async function benchmarkWal(adminUrl: string, argv: readonly string[] = process.argv): Promise<string> {
  if (argv.includes('--fresh-wal')) return 'as initdb made it (--fresh-wal): every WAL segment is a new file';
  return (await steadyStateWal(adminUrl)).report;
}

export { findFreePort };

/** `n` distinct free loopback ports: each was free when found, and none repeats (the OS may hand one out twice). */
export async function findFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await findFreePort());
  return [...ports];
}

/** The port variable of every listener `npm start` runs (packages/runtime env.ts), for tests that start the whole stack. */
export const STACK_PORT_NAMES = [
  'WEB_PORT',
  'API_PORT',
  'POP3_PORT',
  'POP3S_PORT',
  'LMTP_PORT',
  'SMTP_PORT',
  'POP3_METRICS_PORT',
  'INGRESS_METRICS_PORT',
  'WORKER_METRICS_PORT',
  'SUPERVISOR_METRICS_PORT',
] as const;

export type StackPorts = Record<(typeof STACK_PORT_NAMES)[number], number>;

/** A distinct free port for each of the stack's listeners. */
export async function freeStackPorts(): Promise<StackPorts> {
  const ports = await findFreePorts(STACK_PORT_NAMES.length);
  return Object.fromEntries(STACK_PORT_NAMES.map((name, i) => [name, ports[i]!])) as StackPorts;
}
