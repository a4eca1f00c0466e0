import pg from 'pg';
import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { ephemeralPortRange } from '../embedded.ts';
import { benchmarkWal, freeStackPorts, STACK_PORT_NAMES, steadyStateWal, testDatabaseUrl } from './index.ts';

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

describe('freeStackPorts (whole-stack tests)', () => {
  it('gives every listener of the stack its own port, free to listen on', async () => {
    const ports = await freeStackPorts();
    expect(Object.keys(ports).sort()).toEqual([...STACK_PORT_NAMES].sort());
    const values = Object.values(ports);
    expect(new Set(values).size).toBe(STACK_PORT_NAMES.length);
    // below the range outgoing connections take their local ports from, so none can take one before the stack listens
    const [ephemeralLow] = ephemeralPortRange();
    for (const port of values) expect(port).toBeLessThan(ephemeralLow);
    // each can be bound at once, as the stack will
    const servers = await Promise.all(
      values.map(
        (port) =>
          new Promise<net.Server>((resolve, reject) => {
            const s = net.createServer();
            s.once('error', reject);
            s.listen(port, '127.0.0.1', () => resolve(s));
          }),
      ),
    );
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });
});
