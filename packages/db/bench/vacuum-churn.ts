/**
 * Vacuum under churn: how large `message_parts` grows while mail is stored and deleted at a steady pace, with the
 * migrations' autovacuum settings (trigger and cost limit) against PostgreSQL's defaults, side by side in two databases
 * of one private embedded cluster (never a server named by DATABASE_URL: this sets autovacuum_naptime on it).
 *   npx tsx bench/vacuum-churn.ts [--live=64] [--rounds=200] [--pause-ms=1500]
 * Each round stores one message's worth of parts (1,000 rows of 8,096 octets, one per page: about 8 MB) and, once
 * `--live` messages are stored, deletes the oldest, then waits `--pause-ms` (1,500: about 5 MB/s deleted and stored).
 * autovacuum_naptime is 1 s so the launcher's pace is not what is measured. Prints, at the end, the file's size every
 * 40 rounds and its size, autovacuum runs and dead parts left.
 */
import pg from 'pg';
import { acquireTestServer, createTestDatabase } from '../src/testing/index.ts';

// lenient, as the other benchmarks' (npm run bench passes every `--` option to each of them, --trials included)
const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const LIVE = arg('live', 64);
const ROUNDS = arg('rounds', 200);
const PAUSE_MS = arg('pause-ms', 1500);
const PARTS_PER_MESSAGE = 1000;
const SETTINGS = ['autovacuum_vacuum_threshold', 'autovacuum_vacuum_scale_factor', 'autovacuum_vacuum_cost_limit'];

delete process.env.MAILROOM_TEST_PG_URL;
delete process.env.DATABASE_URL;
const server = await acquireTestServer();
const admin = new pg.Client({ connectionString: server.adminUrl });
const mib = (octets: number | string) => Math.round(Number(octets) / 1048576);

async function churn(label: string, url: string, defaults: boolean): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    if (defaults) await c.query(`ALTER TABLE message_parts RESET (${SETTINGS.join(', ')})`);
    const opts = (await c.query<{ o: string[] | null }>(`SELECT reloptions AS o FROM pg_class WHERE oid = 'message_parts'::regclass`))
      .rows[0]!.o;
    const ids: string[] = [];
    const sizes: number[] = [];
    for (let r = 0; r < LIVE + ROUNDS; r++) {
      const { id } = (await c.query<{ id: string }>('SELECT gen_random_uuid()::text AS id')).rows[0]!;
      await c.query(
        `INSERT INTO message_parts (message_id, off, data)
         SELECT $1::uuid, g, decode(repeat(md5(g::text || $1::text), 506), 'hex') FROM generate_series(1, $2::int) g`,
        [id, PARTS_PER_MESSAGE],
      );
      ids.push(id);
      if (ids.length <= LIVE) continue;
      await c.query('DELETE FROM message_parts WHERE message_id = $1', [ids.shift()]);
      if ((r - LIVE) % 40 === 0)
        sizes.push(mib((await c.query<{ n: string }>(`SELECT pg_relation_size('message_parts') AS n`)).rows[0]!.n));
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
    // this backend's own counts (its last deletes) reach the shared statistics only when it flushes them, at most
    // once a second: force that before reading them
    await c.query('SELECT pg_stat_force_next_flush()');
    const st = (
      await c.query<{ size: string; runs: string; dead: string }>(
        `SELECT pg_relation_size('message_parts') AS size, autovacuum_count AS runs, n_dead_tup AS dead
           FROM pg_stat_user_tables WHERE relname = 'message_parts'`,
      )
    ).rows[0]!;
    return (
      `${label} (${opts?.join(', ') ?? 'PostgreSQL defaults'}): ${LIVE * PARTS_PER_MESSAGE} live parts ` +
      `(${mib(LIVE * PARTS_PER_MESSAGE * 8192)} MiB); MiB every 40 rounds ${sizes.join(' ')}; ` +
      `at the end ${mib(st.size)} MiB, ${st.runs} autovacuum runs, ${st.dead} dead parts`
    );
  } finally {
    await c.end();
  }
}

try {
  await admin.connect();
  await admin.query(`ALTER SYSTEM SET autovacuum_naptime = '1s'`);
  await admin.query('SELECT pg_reload_conf()');
  const dbs = await Promise.all(['migrated', 'defaults'].map((l) => createTestDatabase(server.adminUrl, `vacuum_churn_${l}`)));
  try {
    console.log(`${ROUNDS} rounds of about 8 MB stored and deleted, ${PAUSE_MS} ms apart, both databases at once`);
    const lines = await Promise.all([churn('migrated', dbs[0]!.url, false), churn('defaults', dbs[1]!.url, true)]);
    for (const l of lines) console.log(`RESULT ${l}`);
  } finally {
    for (const d of dbs) await d.drop();
  }
} finally {
  // the private cluster goes whatever failed, so no PostgreSQL is left running
  await admin.end().catch(() => undefined);
  await server.stop();
}
