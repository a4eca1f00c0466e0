import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { findFreePort } from '@mailroom/db/testing';

export interface RunningPgBouncer {
  /** `postgresql://…@127.0.0.1:<port>/<database>` through PgBouncer. */
  url: string;
  /** Transactions PgBouncer has served for `database` (its admin console's SHOW STATS). */
  transactions(): Promise<number>;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's pgbouncer in front of `databaseUrl` on a free loopback port with a generated configuration: one
 * database entry, SCRAM with the same user and password, `pool_mode` as given. As root it runs as `postgres` (PgBouncer
 * refuses root). The test that calls it stops it.
 */
export async function startPgBouncer(
  databaseUrl: string,
  opts: { poolMode?: 'transaction' | 'session'; poolSize?: number } = {},
): Promise<RunningPgBouncer> {
  const target = new URL(databaseUrl);
  const user = decodeURIComponent(target.username);
  const password = decodeURIComponent(target.password);
  const database = target.pathname.slice(1);
  const port = await findFreePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mr-pgbouncer-'));
  const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
  await writeFile(path.join(dir, 'users.txt'), `${quote(user)} ${quote(password)}\n`);
  await writeFile(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${database} = host=${target.hostname} port=${target.port} dbname=${database}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      "unix_socket_dir = ''",
      'auth_type = scram-sha-256',
      `auth_file = ${path.join(dir, 'users.txt')}`,
      `admin_users = ${user}`,
      `pool_mode = ${opts.poolMode ?? 'transaction'}`,
      `default_pool_size = ${opts.poolSize ?? 20}`,
      'max_client_conn = 1000',
      'server_reset_query_always = 0',
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // the `postgres` user (embedded PostgreSQL's) must read the generated files; they live only as long as the test
    await chmod(dir, 0o755);
    for (const f of ['users.txt', 'pgbouncer.ini']) await chmod(path.join(dir, f), 0o644);
  }
  const child: ChildProcess = spawn('pgbouncer', [...(asRoot ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = once(child, 'exit');
  // up once it accepts connections
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited: ${out}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const via = new URL(databaseUrl);
  via.hostname = '127.0.0.1';
  via.port = String(port);
  return {
    url: via.toString(),
    output: () => out,
    async transactions() {
      const adminUrl = new URL(via);
      adminUrl.pathname = '/pgbouncer';
      const c = new pg.Client({ connectionString: adminUrl.toString() });
      await c.connect();
      try {
        const { rows } = await c.query<{ database: string; total_xact_count: string }>('SHOW STATS');
        return Number(rows.find((r) => r.database === database)?.total_xact_count ?? 0);
      } finally {
        await c.end();
      }
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
