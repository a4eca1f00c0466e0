import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createPrismaClientWithPool, type PgPool } from './client.ts';
import { newId } from './ids.ts';
import { applyMigrations } from './migrate.ts';
import { copyMessageParts } from './message-parts.ts';
import { BinaryCopyRowDecoder, storedMessageCopySql, streamCopyRows } from './pg-copy.ts';
import { createTestDatabase } from './testing/index.ts';

const header = (ext = Buffer.alloc(0)) => {
  const h = Buffer.alloc(19);
  Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1').copy(h);
  h.writeUInt32BE(ext.length, 15);
  return Buffer.concat([h, ext]);
};
const row = (data: Buffer) => {
  const r = Buffer.alloc(6);
  r.writeInt16BE(1, 0);
  r.writeInt32BE(data.length, 2);
  return Buffer.concat([r, data]);
};
const trailer = Buffer.from([0xff, 0xff]);

/** Every 4 octets number their own position: a slice out of order or repeated cannot go unnoticed. */
const numbered = (octets: number) => {
  const raw = Buffer.alloc(octets);
  for (let i = 0; i + 4 <= raw.length; i += 4) raw.writeUInt32BE(i, i);
  return raw;
};

/** Runs `test` on a fresh database with one mailbox, through a pool of framed sockets (as POP3's). */
async function withMailbox(test: (pool: PgPool, mailboxId: string) => Promise<void>): Promise<void> {
  const db = await createTestDatabase(process.env.MAILROOM_TEST_PG_URL!, 'copy');
  await applyMigrations(db.url);
  const { prisma, pool } = createPrismaClientWithPool(db.url, { reuseReadBuffers: true, maxConnections: 2 });
  try {
    const owner = await prisma.user.create({ data: { email: `copy-${newId()}@example.test`, passwordHash: 'x', role: 'OWNER' } });
    const domain = await prisma.domain.create({
      data: { name: `copy-${newId()}.example.test`, ownerId: owner.id, verifiedAt: new Date() },
    });
    const mailbox = await prisma.mailbox.create({ data: { domainId: domain.id, localPart: 'u', passwordHash: 'x' } });
    await test(pool, mailbox.id);
  } finally {
    await prisma.$disconnect();
    await db.drop();
  }
}

/** Stores `raw` as the mailbox's message 1, all in `raw` (no parts); returns its id. */
async function insertMessage(pool: PgPool, mailboxId: string, raw: Buffer): Promise<string> {
  const id = newId();
  await pool.query(`INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw) VALUES ($1, $2, 1, 'u1', $3, $4)`, [
    id,
    mailboxId,
    raw.length,
    raw,
  ]);
  return id;
}

describe('BinaryCopyRowDecoder', () => {
  it('decodes the header (with an extension area), rows of any octets, empty rows and the trailer', () => {
    const d = new BinaryCopyRowDecoder();
    const a = Buffer.from([0, 1, 0x2e, 0x0a, 0xff]);
    expect(d.decode(Buffer.concat([header(Buffer.from('ext!')), row(a)]))!.equals(a)).toBe(true);
    expect(d.decode(row(Buffer.alloc(0)))!.length).toBe(0);
    expect(d.decode(row(Buffer.from('PGCOPY')))!.toString()).toBe('PGCOPY'); // no second header
    expect(d.decode(trailer)).toBeNull();
    expect(d.rows).toBe(3);
  });

  it('refuses a bad header, NULL, more than one column and a length mismatch', () => {
    expect(() => new BinaryCopyRowDecoder().decode(row(Buffer.from('x')))).toThrow(/header/);
    const nul = Buffer.alloc(6);
    nul.writeInt16BE(1, 0);
    nul.writeInt32BE(-1, 2);
    expect(() => new BinaryCopyRowDecoder().decode(Buffer.concat([header(), nul]))).toThrow(/NULL/);
    const two = Buffer.concat([header(), row(Buffer.from('x'))]);
    two.writeInt16BE(2, 19);
    expect(() => new BinaryCopyRowDecoder().decode(two)).toThrow(/1 field/);
    expect(() => new BinaryCopyRowDecoder().decode(Buffer.concat([header(), row(Buffer.from('xy')).subarray(0, 7)]))).toThrow(/length/);
  });
});

describe('storedMessageCopySql on real PostgreSQL', () => {
  it('streams a many-slice message in order, without a sort (no temporary file per download)', async () => {
    await withMailbox(async (pool, mailboxId) => {
      const raw = numbered(3 * 1024 * 1024 + 5);
      const id = await insertMessage(pool, mailboxId, raw);
      // the same octets stored in parts: raw holds the first 1000, message_parts the rest
      const partedId = newId();
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await copyMessageParts(client, [{ messageId: partedId, headOctets: 1000, body: raw.subarray(1000) }]);
        await client.query(`INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw) VALUES ($1, $2, 2, 'u2', $3, $4)`, [
          partedId,
          mailboxId,
          raw.length,
          raw.subarray(0, 1000),
        ]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      // 64 KiB windows: the first holds all of the parted message's raw; 700: its raw spans two windows, the second
      // of them ends in its first part (raw's slice and parts in one window), and later windows hold parts alone
      for (const [messageId, window] of [
        [id, 64 * 1024],
        [partedId, 64 * 1024],
        [partedId, 700],
      ] as const) {
        const sql = storedMessageCopySql(mailboxId, messageId, window)!;
        const parts: Buffer[] = [];
        for await (const part of streamCopyRows(pool, sql, { highWaterOctets: 256 * 1024 })) parts.push(Buffer.from(part));
        // one row per window, empty when no part starts in it (a part runs past its window's end)
        expect(parts).toHaveLength(Math.ceil(raw.length / window));
        expect(Buffer.concat(parts).equals(raw)).toBe(true);
        const select = /^COPY \((.*)\) TO STDOUT/s.exec(sql)![1]!;
        const plan = (await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${select}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
        // no Sort anywhere: the slices come in series order, a window's parts in index order
        expect(plan).not.toMatch(/Sort/);
      }
      expect(storedMessageCopySql(mailboxId, "x' OR true --", 1024)).toBeUndefined();
    });
  });
});

describe('streamCopyRows on framed sockets', () => {
  const window = 512 * 1024;
  // RETR's rows: each spans several 64 KiB reads, the last one too
  const raw = numbered(6 * window - 1000);
  const rowCount = 6;
  /** A row kept in the framer's assembly buffer follows its message header there; a copy starts its own buffer. */
  const inAssembly = (row: Buffer) => row.byteOffset > 0;

  it('keeps rows in the assembly buffers and gives those back when the next row is asked for (reuseBuffers)', async () => {
    await withMailbox(async (pool, mailboxId) => {
      const sql = storedMessageCopySql(mailboxId, await insertMessage(pool, mailboxId, raw), window)!;
      const whole = createHash('sha256');
      const buffers = new Set<ArrayBufferLike>();
      let offset = 0;
      let rows = 0;
      for await (const row of streamCopyRows(pool, sql, { highWaterOctets: 256 * 1024, reuseBuffers: true })) {
        const expected = raw.subarray(offset, offset + window);
        expect(row.equals(expected), `row ${rows}`).toBe(true);
        expect(inAssembly(row), `row ${rows}`).toBe(true);
        // as a consumer writing the row to a socket: meanwhile the framer reads on, and must assemble elsewhere
        await sleep(5);
        expect(row.equals(expected), `row ${rows} a little later`).toBe(true);
        whole.update(row);
        buffers.add(row.buffer);
        offset += row.length;
        rows++;
      }
      expect(rows).toBe(rowCount);
      expect(offset).toBe(raw.length);
      expect(whole.digest().equals(createHash('sha256').update(raw).digest())).toBe(true);
      // buffers given back were assembled in again
      expect(buffers.size).toBeLessThan(rowCount);
    });
  });

  it('never gives a row kept in an assembly buffer back without reuseBuffers, so rows stay valid', async () => {
    await withMailbox(async (pool, mailboxId) => {
      const sql = storedMessageCopySql(mailboxId, await insertMessage(pool, mailboxId, raw), window)!;
      const rows: Buffer[] = [];
      for await (const row of streamCopyRows(pool, sql, { highWaterOctets: 256 * 1024 })) rows.push(row);
      expect(rows).toHaveLength(rowCount);
      expect(rows.every(inAssembly)).toBe(true);
      expect(new Set(rows.map((r) => r.buffer)).size).toBe(rowCount);
      expect(Buffer.concat(rows).equals(raw)).toBe(true);
    });
  });
});

describe('streamCopyRows when PostgreSQL closes the connection mid-download', () => {
  it('fails the stream (not the process), drops that connection, and the pool serves the next download', async () => {
    await withMailbox(async (pool, mailboxId) => {
      // more than the sockets between the two can buffer, so the backend is still sending when it is terminated
      const window = 1024 * 1024;
      const raw = numbered(32 * window);
      const sql = storedMessageCopySql(mailboxId, await insertMessage(pool, mailboxId, raw), window)!;
      const poolErrors: Error[] = [];
      pool.on('error', (err) => poolErrors.push(err));
      let rows = 0;
      const outcome = await (async () => {
        for await (const row of streamCopyRows(pool, sql, { highWaterOctets: window })) {
          expect(row.equals(raw.subarray(rows * window, (rows + 1) * window))).toBe(true);
          if (rows++ === 0) {
            // as an operator's pg_terminate_backend or a PostgreSQL restart would, while the download is paused
            const { rows: killed } = await pool.query<{ ok: boolean }>(
              `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query LIKE 'COPY (%' AND pid <> pg_backend_pid()`,
            );
            expect(killed).toEqual([{ ok: true }]);
          }
        }
        return 'completed';
      })().catch((err: Error) => err);
      expect(outcome).toBeInstanceOf(Error);
      expect(rows).toBeGreaterThanOrEqual(1);
      expect(rows).toBeLessThan(32);
      // the dead connection is not handed out again: the next download on this pool is whole
      const again: Buffer[] = [];
      for await (const row of streamCopyRows(pool, sql, { highWaterOctets: window })) again.push(Buffer.from(row));
      expect(Buffer.concat(again).equals(raw)).toBe(true);
      expect(poolErrors).toEqual([]);
    });
  });
});
