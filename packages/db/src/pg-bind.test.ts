import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgPool } from './client.ts';
import { ByteaParts, queryWithBuffers } from './pg-bind.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('queryWithBuffers on real PostgreSQL', () => {
  // both kinds of socket: pg's own and the framed one the POP3 and ingress pools use
  const pools = [
    createPgPool(process.env.MAILROOM_TEST_PG_URL!, { maxConnections: 2 }),
    createPgPool(process.env.MAILROOM_TEST_PG_URL!, { maxConnections: 2, reuseReadBuffers: true }),
  ];
  afterAll(() => Promise.all(pools.map((p) => p.end())));

  it.each([0, 1])('sends trailing Buffers and ByteaParts byte-exact after ordinary parameters (pool %i)', async (k) => {
    const pool = pools[k]!;
    const big = randomBytes(3 * 1024 * 1024 + 7);
    const parts = [randomBytes(65536), Buffer.alloc(0), randomBytes(1), randomBytes(100_000)];
    const { rows } = await queryWithBuffers<{
      t: string;
      a: number[];
      n: null;
      d: string;
      h1: string;
      h2: string;
      l2: number;
      l3: number;
      h4: string;
    }>(
      pool,
      `SELECT $1::text AS t, $2::int[] AS a, $3::text AS n, $4::timestamptz::text AS d,
              encode(sha256($5::bytea), 'hex') AS h1, encode(sha256($6::bytea), 'hex') AS h2, length($6) AS l2,
              length($7::bytea) AS l3, encode(sha256($8::bytea), 'hex') AS h4`,
      [
        'grüße \u2603',
        [1, 2, 3],
        null,
        new Date('2026-12-01T00:00:00Z'),
        big,
        new ByteaParts(parts),
        Buffer.alloc(0),
        Buffer.from([0, 0x0d, 0x0a, 0x2e]),
      ],
    );
    const r = rows[0]!;
    expect([r.t, r.a, r.n]).toEqual(['grüße \u2603', [1, 2, 3], null]);
    expect(r.d).toMatch(/^2026-12-01/);
    expect(r.h1).toBe(sha(big));
    expect([r.h2, r.l2]).toEqual([sha(Buffer.concat(parts)), parts.reduce((n, p) => n + p.length, 0)]);
    expect(r.l3).toBe(0);
    expect(r.h4).toBe(sha(Buffer.from([0, 0x0d, 0x0a, 0x2e])));
  });

  it.each([0, 1])('a named statement is parsed once per connection and bound anew with other buffers (pool %i)', async (k) => {
    const client = await pools[k]!.connect();
    try {
      const name = `pg_bind_named_${k}`;
      const text = `SELECT $1::int AS n, encode(sha256($2::bytea), 'hex') AS h`;
      for (const [n, body] of [
        [1, randomBytes(70_000)],
        [2, randomBytes(5)],
        [3, Buffer.alloc(0)],
      ] as const) {
        const { rows } = await queryWithBuffers<{ n: number; h: string }>(client, text, [n, body], name);
        expect(rows[0]).toEqual({ n, h: sha(body) });
      }
      // prepared once on this connection, under that name
      const prepared = await client.query<{ c: number }>(`SELECT count(*)::int AS c FROM pg_prepared_statements WHERE name = $1`, [name]);
      expect(prepared.rows[0]!.c).toBe(1);
    } finally {
      client.release();
    }
  });

  it('a Buffer that is not among the last parameters goes through pg as usual', async () => {
    const b = randomBytes(1000);
    const { rows } = await queryWithBuffers<{ h: string; t: string }>(
      pools[0]!,
      `SELECT encode(sha256($1::bytea), 'hex') AS h, $2::text AS t`,
      [b, 'x'],
    );
    expect(rows[0]).toEqual({ h: sha(b), t: 'x' });
  });

  it('errors reject, and the connection stays in step (pool and a client inside a transaction)', async () => {
    const pool = pools[1]!;
    await expect(queryWithBuffers(pool, 'SELECT 1 / (length($1::bytea) - 3) AS x', [Buffer.from('abc')])).rejects.toThrow(
      /division by zero/,
    );
    await expect(queryWithBuffers(pool, 'SELECT $1::bytea, $2::int', [Buffer.from('abc')])).rejects.toThrow();
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('CREATE TEMP TABLE bodies (b bytea) ON COMMIT DROP');
      const body = randomBytes(2 * 1024 * 1024);
      await queryWithBuffers(client, 'INSERT INTO bodies (b) VALUES ($1), ($2)', [
        body,
        new ByteaParts([body.subarray(0, 10), body.subarray(10)]),
      ]);
      await expect(queryWithBuffers(client, 'INSERT INTO bodies (b) VALUES ($1::int::text::bytea)', [Buffer.from('no')])).rejects.toThrow();
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await client.query('CREATE TEMP TABLE bodies (b bytea) ON COMMIT DROP');
      await queryWithBuffers(client, 'INSERT INTO bodies (b) VALUES ($1), ($2)', [
        body,
        new ByteaParts([body.subarray(0, 10), body.subarray(10)]),
      ]);
      const { rows } = await client.query<{ h: string }>(`SELECT encode(sha256(b), 'hex') AS h FROM bodies`);
      expect(rows.map((x) => x.h)).toEqual([sha(body), sha(body)]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const after = await Promise.all(
      Array.from({ length: 6 }, (_, i) => queryWithBuffers<{ n: number }>(pool, 'SELECT length($1::bytea) AS n', [Buffer.alloc(i)])),
    );
    expect(after.map((r) => r.rows[0]!.n)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it.each([0, 1])(
    'thenCommit commits in the same round trip; a failing statement leaves the transaction aborted, nothing committed (pool %i)',
    async (k) => {
      const pool = pools[k]!;
      const table = `then_commit_${k}_${Date.now()}`;
      await pool.query(`CREATE TABLE ${table} (n int, b bytea)`);
      const client = await pool.connect();
      try {
        const body = randomBytes(300_000);
        // success: the statement's own result comes back, and its transaction is committed
        await client.query('BEGIN');
        await client.query(`INSERT INTO ${table} (n) VALUES (1)`);
        const ok = await queryWithBuffers<{ n: number; h: string }>(
          client,
          `INSERT INTO ${table} (n, b) VALUES ($1, $2) RETURNING n, encode(sha256(b), 'hex') AS h`,
          [2, body],
          `then_commit_insert_${k}`,
          { thenCommit: true },
        );
        expect(ok.rows).toEqual([{ n: 2, h: sha(body) }]);
        // no transaction is open any more: another connection sees both rows, and a ROLLBACK undoes nothing
        expect((await pool.query<{ n: number }>(`SELECT n FROM ${table} ORDER BY n`)).rows.map((r) => r.n)).toEqual([1, 2]);
        await client.query('ROLLBACK');
        expect((await pool.query<{ c: number }>(`SELECT count(*)::int AS c FROM ${table}`)).rows[0]!.c).toBe(2);

        // failure: the COMMIT after the statement must not run, so what the transaction did before is not committed
        await client.query('BEGIN');
        await client.query(`INSERT INTO ${table} (n) VALUES (3)`);
        await expect(
          queryWithBuffers(
            client,
            `INSERT INTO ${table} (n, b) SELECT 1 / (length($1::bytea) - 3), $2`,
            [Buffer.from('abc'), body],
            undefined,
            {
              thenCommit: true,
            },
          ),
        ).rejects.toThrow(/division by zero/);
        await expect(client.query('SELECT 1')).rejects.toThrow(/current transaction is aborted/);
        await client.query('ROLLBACK');
        expect((await pool.query<{ n: number }>(`SELECT n FROM ${table} ORDER BY n`)).rows.map((r) => r.n)).toEqual([1, 2]);
        // and the connection is in step for what follows
        expect((await client.query<{ x: number }>('SELECT 41 + 1 AS x')).rows[0]!.x).toBe(42);
      } finally {
        client.release();
        await pool.query(`DROP TABLE ${table}`);
      }
    },
  );

  it.each([0, 1])(
    'copyFirst: BEGIN, a COPY with its rows, the statement and its COMMIT in one round trip; a failure anywhere commits nothing (pool %i)',
    async (k) => {
      const pool = pools[k]!;
      const table = `copy_first_${k}_${Date.now()}`;
      await pool.query(`CREATE TABLE ${table} (n int PRIMARY KEY, b bytea); CREATE TABLE ${table}_log (n int)`);
      const rowsOf = (ns: number[], body: Buffer) =>
        ns.map((n) => {
          const nb = Buffer.alloc(4);
          nb.writeInt32BE(n);
          return [nb, body];
        });
      const copy = `COPY ${table} (n, b) FROM STDIN (FORMAT binary)`;
      const client = await pool.connect();
      try {
        const body = randomBytes(200_000);
        // the statement sees the rows the COPY just wrote, and all of it is committed
        const ok = await queryWithBuffers<{ c: number; h: string }>(
          client,
          `WITH l AS (INSERT INTO ${table}_log (n) VALUES ($1) RETURNING n)
           SELECT (SELECT count(*)::int FROM ${table}) AS c, (SELECT encode(sha256(b), 'hex') FROM ${table} WHERE n = 2) AS h
             FROM l`,
          [1],
          undefined,
          {
            thenCommit: true,
            copyFirst: { statements: ['BEGIN', 'SET LOCAL statement_timeout = 5000'], copy, rows: rowsOf([1, 2, 3], body) },
          },
        );
        expect(ok.rows).toEqual([{ c: 3, h: sha(body) }]);
        const seen = async () => [
          (await pool.query<{ c: number }>(`SELECT count(*)::int AS c FROM ${table}`)).rows[0]!.c,
          (await pool.query<{ c: number }>(`SELECT count(*)::int AS c FROM ${table}_log`)).rows[0]!.c,
        ];
        expect(await seen()).toEqual([3, 1]);
        await client.query('ROLLBACK'); // nothing open any more: only a warning
        expect(await seen()).toEqual([3, 1]);

        // the COPY fails (a duplicate key): the statement and the COMMIT do not run
        await expect(
          queryWithBuffers(client, `INSERT INTO ${table}_log (n) VALUES ($1)`, [2], undefined, {
            thenCommit: true,
            copyFirst: { statements: ['BEGIN'], copy, rows: rowsOf([4, 1], body) },
          }),
        ).rejects.toThrow(/duplicate key/);
        await client.query('ROLLBACK');
        expect(await seen()).toEqual([3, 1]);

        // the statement fails: the COPY's rows are not committed
        await expect(
          queryWithBuffers(client, `INSERT INTO ${table}_log (n) SELECT 1 / (length($1::bytea) - 3)`, [Buffer.from('abc')], undefined, {
            thenCommit: true,
            copyFirst: { statements: ['BEGIN'], copy, rows: rowsOf([5, 6], body) },
          }),
        ).rejects.toThrow(/division by zero/);
        await client.query('ROLLBACK');
        expect(await seen()).toEqual([3, 1]);
        expect((await client.query<{ x: number }>('SELECT 41 + 1 AS x')).rows[0]!.x).toBe(42);
      } finally {
        client.release();
        await pool.query(`DROP TABLE ${table}, ${table}_log`);
      }
    },
  );
});
