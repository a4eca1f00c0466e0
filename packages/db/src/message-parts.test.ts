import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClientWithPool, type PgPool, type PrismaClient } from './client.ts';
import { newId } from './ids.ts';
import { copyMessageParts, MESSAGE_PART_OCTETS, PARTS_MIN_BODY_OCTETS, splitWholeMessages } from './message-parts.ts';
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

  it('space freed by deleted mail is filled by the next COPY, not appended; autovacuum comes after 1,000 dead rows + 1%, at 10× the cost limit', async () => {
    const pages = async () => Number((await pool.query<{ n: string }>(`SELECT pg_relation_size('message_parts') / 8192 AS n`)).rows[0]!.n);
    // an empty table whatever the tests before left (the truncate trigger empties message_parts with messages)
    await pool.query('TRUNCATE messages');
    const parts = 200;
    const message = () => randomBytes(64 + parts * MESSAGE_PART_OCTETS);
    const first = await storeInParts(message(), 64);
    const last = await storeInParts(message(), 64);
    const filled = await pages();
    // one part per page; COPY extends the file several pages at a time, so a few more may follow them
    expect(filled).toBeGreaterThanOrEqual(2 * parts);
    expect(filled).toBeLessThan(3 * parts);
    // the first message's pages are freed (not at the file's end, so VACUUM keeps them: it only cuts empty pages there)
    await pool.query('DELETE FROM messages WHERE id = $1', [first]);
    await pool.query('VACUUM message_parts');
    expect(await pages()).toBe(filled);
    // the next message's COPY takes them instead of extending the table (with COPY … FREEZE, or a table per batch, the
    // file would grow by another 200 pages)
    const next = await storeInParts(message(), 64);
    expect(await partsOf([next, last])).toBe(2 * parts);
    expect(await pages()).toBe(filled);
    // autovacuum's trigger and pace for the tables deleted mail leaves dead rows in (the migrations
    // 20261206000000_mail_autovacuum and 20261206010000_mail_autovacuum_cost_limit; PostgreSQL's default, 50 dead rows
    // plus 20% of the table at 200 per 2 ms shared by all workers, fell behind mail deleted at 5 MB/s)
    const { rows } = await pool.query<{ rel: string; opts: string[] }>(
      `SELECT c.relname AS rel, c.reloptions AS opts FROM pg_class c WHERE c.oid IN ('message_parts'::regclass, 'messages'::regclass)
       UNION ALL SELECT 'messages TOAST', t.reloptions FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.oid = 'messages'::regclass`,
    );
    const sooner = ['autovacuum_vacuum_cost_limit=2000', 'autovacuum_vacuum_scale_factor=0.01', 'autovacuum_vacuum_threshold=1000'];
    expect(Object.fromEntries(rows.map((r) => [r.rel, [...r.opts].sort()]))).toEqual({
      message_parts: sooner,
      messages: sooner,
      'messages TOAST': sooner,
    });
  });
});

describe('splitWholeMessages: large messages stored whole, converted to parts in place', () => {
  const newMailbox = async () => {
    uid++;
    return (await prisma.mailbox.create({ data: { domainId, localPart: `split${uid}`, passwordHash: 'x' } })).id;
  };
  /** Stores `raw` whole, as messages were stored before parts, with the mailbox's usage and dot_lines as the ingress keeps them. */
  async function storeWhole(raw: Buffer, box: string, id = newId()): Promise<string> {
    uid++;
    await pool.query(
      `WITH mb AS (UPDATE mailboxes SET used_bytes = used_bytes + $5, message_count = message_count + 1 WHERE id = $2)
       INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw, dot_lines) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, box, uid, `w${uid}`, raw.length, raw, /(^|\n)\./.test(raw.toString('latin1'))],
    );
    return id;
  }
  /** What a conversion must leave as it was: the message's octets, row fields and the mailbox's usage. */
  async function unchanged(id: string) {
    const { rows } = await pool.query(
      `SELECT m.uid, m.uidl, m.size_octets, m.dot_lines, m.counts_toward_quota, b.used_bytes, b.message_count,
              message_octets(m.id) AS octets
         FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE m.id = $1`,
      [id],
    );
    return rows[0] as Record<string, unknown>;
  }
  /** raw's length and the parts as [off, length] in order. */
  async function layout(id: string) {
    const raw = (await pool.query<{ n: number }>('SELECT octet_length(raw) AS n FROM messages WHERE id = $1', [id])).rows[0]!.n;
    const { rows } = await pool.query<{ off: string; n: number }>(
      'SELECT off, octet_length(data) AS n FROM message_parts WHERE message_id = $1 ORDER BY off',
      [id],
    );
    return { raw, parts: rows.map((r) => [Number(r.off), r.n] as const) };
  }
  /** Parts from `head` to `size` with no gap or overlap, all full but the last. */
  function expectContiguous(parts: readonly (readonly [number, number])[], head: number, size: number) {
    expect(parts.length).toBe(Math.ceil((size - head) / MESSAGE_PART_OCTETS));
    let at = head;
    for (const [i, [off, n]] of parts.entries()) {
      expect(off).toBe(at);
      if (i < parts.length - 1) expect(n).toBe(MESSAGE_PART_OCTETS);
      at += n;
    }
    expect(at).toBe(size);
  }
  const header = Buffer.from('Return-Path: <a@example.org>\r\nSubject: big\r\nContent-Type: application/octet-stream\r\n\r\n');
  /** A message with a header section, then random octets with CRLF-dot lines (and CRLF CRLF) among them. */
  const bigMessage = (size: number) => {
    const body = randomBytes(size - header.length);
    for (let at = 1000; at + 8 < body.length; at += 20_000) body.write(at % 3 ? '\r\n.\r\n' : '\r\n..x\r\n\r\n', at, 'latin1');
    return Buffer.concat([header, body]);
  };

  it('keeps the header section in raw and the rest in contiguous parts; the octets, size, usage, uid/uidl, dot_lines stay', async () => {
    const box = await newMailbox();
    const raw = bigMessage(300_000);
    const id = await storeWhole(raw, box);
    const small = await storeWhole(Buffer.concat([header, randomBytes(PARTS_MIN_BODY_OCTETS - header.length - 1)]), box);
    const partedRaw = randomBytes(90_000);
    const parted = await storeInParts(partedRaw, 100, box);
    const before = await unchanged(id);
    const partedBefore = await layout(parted);
    expect(before.dot_lines).toBe(true);

    expect(await splitWholeMessages(prisma, { mailboxId: box })).toEqual({ messages: 1, octets: raw.length, skipped: 0 });
    const after = await layout(id);
    expect(after.raw).toBe(header.length);
    expect((await pool.query<{ raw: Buffer }>('SELECT raw FROM messages WHERE id = $1', [id])).rows[0]!.raw.equals(header)).toBe(true);
    expectContiguous(after.parts, header.length, raw.length);
    expect(await unchanged(id)).toEqual(before);
    expect((await octets(id))!.equals(raw)).toBe(true);
    // a small message stays whole, a message already in parts as it was
    expect(await layout(small)).toEqual({ raw: PARTS_MIN_BODY_OCTETS - 1, parts: [] });
    expect(await layout(parted)).toEqual(partedBefore);
    expect((await octets(parted))!.equals(partedRaw)).toBe(true);

    // a second run finds nothing left to do
    expect(await splitWholeMessages(prisma, { mailboxId: box })).toEqual({ messages: 0, octets: 0, skipped: 0 });
    expect((await layout(id)).parts).toEqual(after.parts);

    // deleting the converted message takes its parts with it
    await prisma.message.delete({ where: { id } });
    expect(await partsOf([id])).toBe(0);
  });

  it('head 0 when the header section does not end within the first 64 KiB, or is the whole message; reads back identically', async () => {
    const box = await newMailbox();
    const noBlankLine = randomBytes(200_000);
    for (let i = 0; i < noBlankLine.length; i++) if (noBlankLine[i] === 0x0d) noBlankLine[i] = 0x0e; // no CRLF CRLF anywhere
    // a header line too long for the first 64 KiB: the blank line comes after it
    const lateBlankLine = Buffer.concat([Buffer.from(`X-Long: ${'a'.repeat(PARTS_MIN_BODY_OCTETS)}\r\n\r\n`), randomBytes(10_000)]);
    // exactly 64 KiB of header section and nothing after: raw cannot keep all of it (then it would still be whole)
    const allHeader = Buffer.concat([Buffer.from('X-Pad: '), Buffer.alloc(PARTS_MIN_BODY_OCTETS - 11, 'b'), Buffer.from('\r\n\r\n')]);
    expect(allHeader.length).toBe(PARTS_MIN_BODY_OCTETS);
    const cases = [noBlankLine, lateBlankLine, allHeader];
    const ids: string[] = [];
    for (const raw of cases) ids.push(await storeWhole(raw, box));
    const r = await splitWholeMessages(prisma, { mailboxId: box });
    expect(r).toEqual({ messages: 3, octets: cases.reduce((n, c) => n + c.length, 0), skipped: 0 });
    for (const [i, raw] of cases.entries()) {
      const { raw: head, parts } = await layout(ids[i]!);
      expect(head, `message ${i}`).toBe(0);
      expectContiguous(parts, 0, raw.length);
      expect((await octets(ids[i]!))!.equals(raw), `message ${i}`).toBe(true);
    }
    expect((await splitWholeMessages(prisma, { mailboxId: box })).messages).toBe(0);
  });

  it('mailboxId limits the run; dryRun counts and changes nothing; without a mailbox every one is converted', async () => {
    const [a, b] = [await newMailbox(), await newMailbox()];
    const inA = [await storeWhole(bigMessage(100_000), a), await storeWhole(bigMessage(150_000), a)];
    const inB = await storeWhole(bigMessage(120_000), b);
    const whole = async (ids: string[]) =>
      Number(
        (
          await pool.query<{ n: string }>('SELECT count(*) AS n FROM messages WHERE id = ANY($1) AND size_octets = octet_length(raw)', [
            ids,
          ])
        ).rows[0]!.n,
      );

    expect(await splitWholeMessages(prisma, { mailboxId: a, dryRun: true })).toEqual({ messages: 2, octets: 250_000, skipped: 0 });
    expect(await whole([...inA, inB])).toBe(3);
    expect(await partsOf([...inA, inB])).toBe(0);
    const all = await splitWholeMessages(prisma, { dryRun: true });
    expect(all.messages).toBeGreaterThanOrEqual(3);
    expect(await whole([...inA, inB])).toBe(3);

    expect(await splitWholeMessages(prisma, { mailboxId: a })).toEqual({ messages: 2, octets: 250_000, skipped: 0 });
    expect(await whole(inA)).toBe(0);
    expect(await whole([inB])).toBe(1);
    expect(await partsOf([inB])).toBe(0);

    expect(await splitWholeMessages(prisma, {})).toEqual({ messages: all.messages - 2, octets: all.octets - 250_000, skipped: 0 });
    expect(await whole([inB])).toBe(0);
    expect(await splitWholeMessages(prisma, { dryRun: true })).toEqual({ messages: 0, octets: 0, skipped: 0 });
  });

  it('walks the whole id order, window after window: the first and the last message by id among thousands', async () => {
    const box = await newMailbox();
    // 6,000 small messages with random ids, more than one window's worth, between the two large ones
    await pool.query(
      `INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw)
       SELECT gen_random_uuid(), $1, 100000 + i, 'm' || i, 5, 'small' FROM generate_series(1, 6000) AS i`,
      [box],
    );
    const raws = [bigMessage(80_000), bigMessage(90_000)];
    const ids = [
      await storeWhole(raws[0]!, box, '00000000-0000-0000-0000-000000000001'),
      await storeWhole(raws[1]!, box, 'ffffffff-ffff-ffff-ffff-fffffffffffe'),
    ];
    const octetsOf = raws[0]!.length + raws[1]!.length;
    expect(await splitWholeMessages(prisma, { mailboxId: box, dryRun: true })).toEqual({ messages: 2, octets: octetsOf, skipped: 0 });
    expect(await splitWholeMessages(prisma, { dryRun: true })).toEqual({ messages: 2, octets: octetsOf, skipped: 0 });
    expect(await splitWholeMessages(prisma, {})).toEqual({ messages: 2, octets: octetsOf, skipped: 0 });
    for (const [i, raw] of raws.entries()) {
      expect((await layout(ids[i]!)).raw).toBe(header.length);
      expect((await octets(ids[i]!))!.equals(raw)).toBe(true);
    }
  });

  it('a row another transaction holds is skipped and counted, and converted by a later run once released', async () => {
    const box = await newMailbox();
    const free = bigMessage(80_000);
    const held = bigMessage(90_000);
    const freeId = await storeWhole(free, box);
    const heldId = await storeWhole(held, box);
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT 1 FROM messages WHERE id = $1 FOR UPDATE', [heldId]);
      expect(await splitWholeMessages(prisma, { mailboxId: box })).toEqual({ messages: 1, octets: free.length, skipped: 1 });
      expect((await layout(heldId)).raw).toBe(held.length);
      expect(await partsOf([heldId])).toBe(0);
      expect((await layout(freeId)).raw).toBe(header.length);
      await other.query('ROLLBACK');
    } finally {
      await other.end();
    }
    expect(await splitWholeMessages(prisma, { mailboxId: box })).toEqual({ messages: 1, octets: held.length, skipped: 0 });
    expect((await layout(heldId)).raw).toBe(header.length);
    expect((await octets(heldId))!.equals(held)).toBe(true);
    expect((await octets(freeId))!.equals(free)).toBe(true);
  });

  it('two runs at once convert each message once (the second finds it locked or no longer whole) and lose no octets', async () => {
    const box = await newMailbox();
    const raws = Array.from({ length: 12 }, (_, i) => bigMessage(70_000 + i * 1000));
    const ids: string[] = [];
    for (const raw of raws) ids.push(await storeWhole(raw, box));
    const [a, b] = await Promise.all([
      splitWholeMessages(prisma, { mailboxId: box, batchOctets: 1 }),
      splitWholeMessages(prisma, { mailboxId: box, batchOctets: 1 }),
    ]);
    expect(a.messages + b.messages).toBe(raws.length);
    expect(a.octets + b.octets).toBe(raws.reduce((n, r) => n + r.length, 0));
    for (const [i, raw] of raws.entries()) {
      expect((await layout(ids[i]!)).raw).toBe(header.length);
      expect((await octets(ids[i]!))!.equals(raw)).toBe(true);
    }
  });

  it('batchOctets: messages are grouped into transactions of at most that many octets, one message at least', async () => {
    const box = await newMailbox();
    const raws = [bigMessage(70_000), bigMessage(70_000), bigMessage(70_000), bigMessage(200_000)];
    const ids: string[] = [];
    for (const raw of raws) ids.push(await storeWhole(raw, box));
    const batches: { messages: number; octets: number }[] = [];
    const r = await splitWholeMessages(prisma, {
      mailboxId: box,
      batchOctets: 150_000,
      onBatch: ({ messages, octets }) => batches.push({ messages, octets }),
    });
    expect(r).toEqual({ messages: 4, octets: 410_000, skipped: 0 });
    // in id order: two of 70,000 fit in 150,000, the third starts the next, which the 200,000 one does not fit
    expect(batches).toEqual([
      { messages: 2, octets: 140_000 },
      { messages: 1, octets: 70_000 },
      { messages: 1, octets: 200_000 },
    ]);
    for (const [i, raw] of raws.entries()) expect((await octets(ids[i]!))!.equals(raw)).toBe(true);
    await expect(splitWholeMessages(prisma, { batchOctets: 0 })).rejects.toThrow(RangeError);
  });
});
