import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClientWithPool, type PgPool, type PrismaClient } from './client.ts';
import { newId } from './ids.ts';
import { copyMessageParts, MESSAGE_PART_OCTETS } from './message-parts.ts';
import { applyMigrations } from './migrate.ts';
import { copyBinaryRowsIn } from './pg-copy.ts';
import { createTestDatabase } from './testing/index.ts';

let db: { url: string; drop(): Promise<void> };
let prisma: PrismaClient;
let pool: PgPool;
let mailboxId: string;
let domainId: string;
let uid = 0;

beforeAll(async () => {
  db = await createTestDatabase(process.env.MAILROOM_TEST_PG_URL!, 'parts');
  await applyMigrations(db.url);
  ({ prisma, pool } = createPrismaClientWithPool(db.url, { maxConnections: 3 }));
  const owner = await prisma.user.create({ data: { email: `parts-${newId()}@example.test`, passwordHash: 'x', role: 'OWNER' } });
  const domain = await prisma.domain.create({ data: { name: `parts-${newId()}.example.test`, ownerId: owner.id, verifiedAt: new Date() } });
  domainId = domain.id;
  mailboxId = (await prisma.mailbox.create({ data: { domainId, localPart: 'u', passwordHash: 'x' } })).id;
});
afterAll(async () => {
  await prisma.$disconnect();
  await db.drop();
});

/** Stores `raw` as the ingress stores a large message: its first `head` octets in messages.raw, the rest in parts. */
async function storeInParts(raw: Buffer, head: number, box = mailboxId): Promise<string> {
  const id = newId();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    expect(await copyMessageParts(client, [{ messageId: id, headOctets: head, body: raw.subarray(head) }])).toBe(
      Math.ceil((raw.length - head) / MESSAGE_PART_OCTETS),
    );
    uid++;
    await client.query(`INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw) VALUES ($1, $2, $3, $4, $5, $6)`, [
      id,
      box,
      uid,
      `u${uid}`,
      raw.length,
      raw.subarray(0, head),
    ]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  return id;
}

const partsOf = async (ids: string[]) =>
  Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM message_parts WHERE message_id = ANY($1::uuid[])', [ids])).rows[0]!.n);
const octets = async (id: string) => (await pool.query<{ b: Buffer | null }>('SELECT message_octets($1::uuid) AS b', [id])).rows[0]!.b;

describe('message_parts on real PostgreSQL', () => {
  it('stores full-page parts (STORAGE PLAIN: a longer one would fail) at their offsets; message_octets joins them back', async () => {
    const raw = randomBytes(100 + 4 * MESSAGE_PART_OCTETS + 1);
    const id = await storeInParts(raw, 100);
    const { rows } = await pool.query<{ off: string; n: number }>(
      'SELECT off, octet_length(data) AS n FROM message_parts WHERE message_id = $1 ORDER BY off',
      [id],
    );
    expect(rows.map((r) => [Number(r.off), r.n])).toEqual([
      [100, MESSAGE_PART_OCTETS],
      [100 + MESSAGE_PART_OCTETS, MESSAGE_PART_OCTETS],
      [100 + 2 * MESSAGE_PART_OCTETS, MESSAGE_PART_OCTETS],
      [100 + 3 * MESSAGE_PART_OCTETS, MESSAGE_PART_OCTETS],
      [100 + 4 * MESSAGE_PART_OCTETS, 1],
    ]);
    // each part is one heap tuple stored inline (no TOAST): the table's TOAST relation stays empty
    const toast = await pool.query<{ n: string }>(
      `SELECT pg_relation_size(reltoastrelid) AS n FROM pg_class WHERE oid = 'message_parts'::regclass`,
    );
    expect(Number(toast.rows[0]!.n)).toBe(0);
    expect((await octets(id))!.equals(raw)).toBe(true);
    // a row larger than a page is refused rather than moved out of line
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await expect(
        copyMessageParts(client, [{ messageId: newId(), headOctets: 0, body: Buffer.alloc(0) }]).then(() =>
          copyBinaryRowsIn(client, 'COPY message_parts (message_id, off, data) FROM STDIN (FORMAT binary)', [
            [Buffer.from(newId().replace(/-/g, ''), 'hex'), Buffer.alloc(8), Buffer.alloc(9000)],
          ]),
        ),
      ).rejects.toThrow(/row is too big/);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });

  it('a message is deleted with its parts, however it goes: DELETE, a mailbox deleted by cascade, TRUNCATE', async () => {
    const a = await storeInParts(randomBytes(50_000), 10);
    const b = await storeInParts(randomBytes(30_000), 10);
    const small = newId();
    uid++;
    await pool.query(`INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw) VALUES ($1, $2, $3, $4, 3, 'abc')`, [
      small,
      mailboxId,
      uid,
      `u${uid}`,
    ]);
    expect(await partsOf([a, b])).toBe(7 + 4);
    // one statement deleting a parted and a whole message: only the parted one had parts, and they go
    await pool.query('DELETE FROM messages WHERE id = ANY($1::uuid[])', [[a, small]]);
    expect(await partsOf([a])).toBe(0);
    expect(await partsOf([b])).toBe(4);
    expect((await octets(a)) ?? null).toBeNull();

    // a whole mailbox removed (messages go by the foreign key's cascade)
    const other = (await prisma.mailbox.create({ data: { domainId, localPart: `c${uid}`, passwordHash: 'x' } })).id;
    const c = await storeInParts(randomBytes(20_000), 10, other);
    expect(await partsOf([c])).toBe(3);
    await prisma.mailbox.delete({ where: { id: other } });
    expect(await partsOf([c])).toBe(0);
    expect(await partsOf([b])).toBe(4);

    // a rolled-back COPY leaves nothing behind
    const client = await pool.connect();
    const d = newId();
    try {
      await client.query('BEGIN');
      await copyMessageParts(client, [{ messageId: d, headOctets: 0, body: randomBytes(20_000) }]);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await partsOf([d])).toBe(0);

    await pool.query('TRUNCATE messages CASCADE');
    expect(Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM message_parts')).rows[0]!.n)).toBe(0);
  });

  it('deleting messages finds their parts by the index, even before the table has statistics (no sequential scan)', async () => {
    const other = await createTestDatabase(process.env.MAILROOM_TEST_PG_URL!, 'parts_plan');
    const c = new pg.Client({ connectionString: other.url });
    await applyMigrations(other.url);
    await c.connect();
    try {
      const owner = newId();
      const domain = newId();
      const box = newId();
      await c.query(`INSERT INTO users (id, email, password_hash, role, updated_at) VALUES ($1, 'p@x.test', 'x', 'OWNER', now())`, [owner]);
      await c.query(`INSERT INTO domains (id, name, owner_id, verified_at, updated_at) VALUES ($1, 'x.test', $2, now(), now())`, [
        domain,
        owner,
      ]);
      await c.query(`INSERT INTO mailboxes (id, domain_id, local_part, password_hash, updated_at) VALUES ($1, $2, 'u', 'x', now())`, [
        box,
        domain,
      ]);
      // 5,000 messages of 30 small parts each, never analysed (as right after a restore)
      await c.query(
        `INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw)
                     SELECT gen_random_uuid(), $1, i, 'u' || i, 310, 'headheadhe' FROM generate_series(1, 5000) i`,
        [box],
      );
      await c.query(
        `INSERT INTO message_parts (message_id, off, data) SELECT m.id, 10 + k * 10, '0123456789' FROM messages m, generate_series(0, 29) k`,
      );
      const seqScans = async () => {
        await c.query('SELECT pg_stat_force_next_flush()');
        await c.query('SELECT 1');
        await c.query('SELECT pg_stat_clear_snapshot()');
        return Number(
          (await c.query<{ n: string }>(`SELECT seq_scan AS n FROM pg_stat_user_tables WHERE relname = 'message_parts'`)).rows[0]!.n,
        );
      };
      const before = await seqScans();
      const ids = (await c.query<{ id: string }>('SELECT id FROM messages ORDER BY uid LIMIT 5')).rows.map((r) => r.id);
      await c.query('DELETE FROM messages WHERE id = ANY($1::uuid[])', [ids]);
      expect(await seqScans()).toBe(before);
      expect(
        Number(
          (await c.query<{ n: string }>('SELECT count(*) AS n FROM message_parts WHERE message_id = ANY($1::uuid[])', [ids])).rows[0]!.n,
        ),
      ).toBe(0);
    } finally {
      await c.end();
      await other.drop();
    }
  });

  it('copyBinaryRowsIn: NULLs, short and long fields; a bad row fails the COPY with the error and leaves the connection in step', async () => {
    await pool.query('CREATE TABLE IF NOT EXISTS copy_probe (a int, b text, c bytea)');
    const client = await pool.connect();
    try {
      const int = (n: number) => {
        const b = Buffer.alloc(4);
        b.writeInt32BE(n);
        return b;
      };
      const long = randomBytes(70_000);
      const n = await copyBinaryRowsIn(client, 'COPY copy_probe (a, b, c) FROM STDIN (FORMAT binary)', [
        [int(1), Buffer.from('short'), long],
        [int(2), null, Buffer.alloc(0)],
        [null, Buffer.from('x'.repeat(1000)), null],
      ]);
      expect(n).toBe(3);
      const { rows } = await client.query<{ a: number | null; b: string | null; c: Buffer | null }>(
        'SELECT a, b, c FROM copy_probe ORDER BY a NULLS LAST',
      );
      expect(rows.map((r) => [r.a, r.b?.length ?? null, r.c?.length ?? null])).toEqual([
        [1, 5, long.length],
        [2, null, 0],
        [null, 1000, null],
      ]);
      expect(rows[0]!.c!.equals(long)).toBe(true);
      // a field of the wrong binary size: PostgreSQL refuses the COPY
      await expect(
        copyBinaryRowsIn(client, 'COPY copy_probe (a, b, c) FROM STDIN (FORMAT binary)', [[Buffer.alloc(3), null, null]]),
      ).rejects.toThrow(/insufficient data|incorrect binary data/);
      // the rows a failing iterable had not produced are never half-sent: CopyFail, then the connection works
      function* failing(): Generator<(Buffer | null)[]> {
        yield [int(9), null, null];
        throw new Error('source broke');
      }
      await expect(copyBinaryRowsIn(client, 'COPY copy_probe (a, b, c) FROM STDIN (FORMAT binary)', failing())).rejects.toThrow(
        /source broke/,
      );
      expect((await client.query<{ n: string }>('SELECT count(*) AS n FROM copy_probe')).rows[0]!.n).toBe('3');
      // the rows follow the query without waiting: a query that fails before its COPY starts leaves them to be
      // ignored by the server, and the connection stays in step
      await expect(
        copyBinaryRowsIn(client, 'COPY no_such_table FROM STDIN (FORMAT binary)', [[int(1), Buffer.from('a'), long]]),
      ).rejects.toThrow(/no_such_table/);
      expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
      // statements before the COPY in the same query: they run first, in order (here: the transaction it belongs to)
      await copyBinaryRowsIn(client, "BEGIN; SET LOCAL statement_timeout = '5s'; COPY copy_probe (a) FROM STDIN (FORMAT binary)", [
        [int(7)],
        [int(8)],
      ]);
      expect((await client.query<{ n: string }>('SELECT count(*) AS n FROM copy_probe')).rows[0]!.n).toBe('5');
      await client.query('ROLLBACK');
      expect((await client.query<{ n: string }>('SELECT count(*) AS n FROM copy_probe')).rows[0]!.n).toBe('3');
    } finally {
      client.release();
    }
  });
});
