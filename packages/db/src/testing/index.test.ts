import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { benchmarkWal, steadyStateWal, testDatabaseUrl } from './index.ts';

describe('steadyStateWal (benchmarks)', () => {
  it('writes the WAL asked for and checkpoints after it, so the segments are there to be recycled', async () => {
    const url = process.env.MAILROOM_TEST_PG_URL ?? testDatabaseUrl();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const lsn = async () => (await c.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
      const before = await lsn();
      const out = await steadyStateWal(url, 48);
      const { rows } = await c.query<{ written: string; redo: string }>(
        `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint::text AS written,
                pg_wal_lsn_diff((SELECT redo_lsn FROM pg_control_checkpoint()), $1::pg_lsn)::bigint::text AS redo`,
        [before],
      );
      // the WAL was written, and a checkpoint began after it (its redo point lies beyond the 48 MiB)
      expect(Number(rows[0]!.written)).toBeGreaterThanOrEqual(48 * 1024 * 1024);
      expect(Number(rows[0]!.redo)).toBeGreaterThanOrEqual(48 * 1024 * 1024);
      expect(out.mib).toBe(48);
      expect(out.segments).toBeGreaterThan(0);
      expect(out.report).toBe(`48 MiB of WAL written and checkpointed before the trials: ${out.segments} segments of 16 MiB in pg_wal`);
    } finally {
      await c.end();
    }
  });

  it('benchmarkWal leaves the WAL alone with --fresh-wal and says so', async () => {
    const url = process.env.MAILROOM_TEST_PG_URL ?? testDatabaseUrl();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const before = (await c.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
      expect(await benchmarkWal(url, ['--trials=1', '--fresh-wal'])).toBe(
        'as initdb made it (--fresh-wal): every WAL segment is a new file',
      );
      const { rows } = await c.query<{ written: string }>(
        'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint::text AS written',
        [before],
      );
      // other tests may write a little WAL meanwhile, never the gigabyte steadyStateWal would
      expect(Number(rows[0]!.written)).toBeLessThan(16 * 1024 * 1024);
    } finally {
      await c.end();
    }
  });
});
