import { describe, expect, it } from 'vitest';
import { createPrismaClientWithPool } from './client.ts';
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
    const db = await createTestDatabase(process.env.MAILROOM_TEST_PG_URL!, 'copy');
    await applyMigrations(db.url);
    const { prisma, pool } = createPrismaClientWithPool(db.url, { reuseReadBuffers: true, maxConnections: 2 });
    try {
      const owner = await prisma.user.create({ data: { email: `copy-${newId()}@example.test`, passwordHash: 'x', role: 'OWNER' } });
      const domain = await prisma.domain.create({
        data: { name: `copy-${newId()}.example.test`, ownerId: owner.id, verifiedAt: new Date() },
      });
      const mailbox = await prisma.mailbox.create({ data: { domainId: domain.id, localPart: 'u', passwordHash: 'x' } });
      // every 4 octets number their own position: a slice out of order or repeated cannot go unnoticed
      const raw = Buffer.alloc(3 * 1024 * 1024 + 5);
      for (let i = 0; i + 4 <= raw.length; i += 4) raw.writeUInt32BE(i, i);
      const id = newId();
      await pool.query(`INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw) VALUES ($1, $2, 1, 'u1', $3, $4)`, [
        id,
        mailbox.id,
        raw.length,
        raw,
      ]);
      // the same octets stored in parts: raw holds the first 1000, message_parts the rest
      const partedId = newId();
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await copyMessageParts(client, [{ messageId: partedId, headOctets: 1000, body: raw.subarray(1000) }]);
        await client.query(`INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw) VALUES ($1, $2, 2, 'u2', $3, $4)`, [
          partedId,
          mailbox.id,
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
        const sql = storedMessageCopySql(mailbox.id, messageId, window)!;
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
      expect(storedMessageCopySql(mailbox.id, "x' OR true --", 1024)).toBeUndefined();
    } finally {
      await prisma.$disconnect();
      await db.drop();
    }
  });
});
