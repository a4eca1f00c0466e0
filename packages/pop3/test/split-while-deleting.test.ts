import { randomBytes } from 'node:crypto';
import {
  createPrismaClient,
  MESSAGE_PART_OCTETS,
  pgPoolOf,
  splitWholeMessages,
  type PgPoolClient,
  type PrismaClient,
  type SplitWholeMessagesResult,
} from '@mailroom/db';
import { lockWaiters, testDatabaseUrl } from '@mailroom/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMaildrop,
  deliver,
  eventually,
  makeMessage,
  poolOf,
  Pop3TestClient,
  useTestServer,
  type StoredMessage,
  type TestServer,
} from './helpers.ts';

/**
 * `messages split-large` (splitWholeMessages) is meant to run online: while it converts a mailbox, a POP3 session may
 * DELE messages and QUIT. Both sides are real here (a POP3 server on a socket, the conversion on its own client, one
 * PostgreSQL), and the interleavings that matter are forced with row locks held by the test, never left to timing.
 */

/** Application names: the POP3 server's client (openPrisma) and the conversion's, to tell their lock waits apart. */
const POP3 = 'pop3-test';
const CONVERTER = 'split-large';

let prisma: PrismaClient;
let srv: TestServer;
useTestServer((started) => ({ prisma, srv } = started));

/** The conversion's own client, as the operator command runs in a process of its own. */
let converter: PrismaClient;
beforeAll(() => {
  converter = createPrismaClient(testDatabaseUrl(), { applicationName: CONVERTER });
});
afterAll(async () => {
  await converter.$disconnect();
});

/** A large message of about `size` octets: base64 lines, some of them starting with "." (RETR dot-stuffs those). */
function largeMessage(n: number, size: number): Buffer {
  const lines: string[] = [];
  for (let octets = 0; octets < size; octets += 78) lines.push((lines.length % 37 === 5 ? '.' : '') + randomBytes(57).toString('base64'));
  return makeMessage({ subject: `large ${n}`, body: `${lines.join('\r\n')}\r\n` });
}

/** Where splitWholeMessages starts the parts: after the header section's CRLF CRLF. */
const headOf = (raw: Buffer) => raw.indexOf('\r\n\r\n') + 4;

/** Backends waiting for a lock, by application name, and the backends holding what they wait for. */
const lockWaits = (app: string) => lockWaiters(pgPoolOf(prisma)!, app);

async function backendPid(c: PgPoolClient): Promise<number> {
  return (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
}

describe('splitWholeMessages while a POP3 session deletes messages from the same mailbox', () => {
  it(
    'leaves exactly the kept messages, identical, all in parts; deleted ones leave no parts; usage exact',
    { timeout: 120_000 },
    async () => {
      const md = await createMaildrop(prisma);
      // 45 messages of 100–300 KiB, all sizes distinct (a conversion's onBatch octets name the message it converted),
      // stored whole as before parts existed; uid order is id order (v7 ids), which the conversion walks
      const msgs: StoredMessage[] = [];
      for (let i = 0; i < 45; i++) msgs.push(await deliver(prisma, md.mailboxId, largeMessage(i + 1, 100 * 1024 + i * 4608)));
      const byNumber = (n: number) => msgs[n - 1]!;
      const numberOfSize = new Map(msgs.map((m, i) => [m.raw.length, i + 1]));
      expect(numberOfSize.size).toBe(msgs.length);
      const numbers = msgs.map((_, i) => i + 1);
      const deleted = numbers.filter((n) => n % 3 === 0);
      const kept = numbers.filter((n) => n % 3 !== 0);
      const ids = (ns: number[]) => ns.map((n) => byNumber(n).id);

      // The message numbers the interleaving turns on (POP3 numbers = uid order = the conversion's order):
      const X = 12; // deleted: the conversion holds its row when the QUIT's DELETE reaches it, so the DELETE waits
      const Y = 13; // kept: the conversion is stopped here next, while the QUIT deletes the rest and waits to commit
      const W = 40; // kept: a third transaction holds its row, so the first run skips it and a later run converts it
      // what the first run must skip: the deleted messages it reaches while the QUIT's transaction holds them, and W
      const skippedFirst = [...deleted.filter((n) => n > Y), W];

      const pool = poolOf(prisma)!;
      const [gateX, gateY, holder] = [await pool.connect(), await pool.connect(), await pool.connect()];
      // Stopping the conversion inside a transaction: an uncommitted part row at the offset the conversion writes
      // first makes its INSERT wait on the primary key (rolled back, it leaves no trace)
      const stopAt = async (c: PgPoolClient, n: number) => {
        await c.query('BEGIN');
        await c.query(`INSERT INTO message_parts (message_id, off, data) VALUES ($1, $2, '\\x00')`, [
          byNumber(n).id,
          headOf(byNumber(n).raw),
        ]);
      };
      await stopAt(gateX, X);
      await stopAt(gateY, Y);
      const [gateXPid, gateYPid, holderPid] = [await backendPid(gateX), await backendPid(gateY), await backendPid(holder)];
      const names = new Map([
        [gateXPid, 'gate X'],
        [gateYPid, 'gate Y'],
        [holderPid, 'holder'],
      ]);

      const converted: number[] = [];
      let skippedTotal = 0;
      const onBatch = (b: SplitWholeMessagesResult) => {
        // one message per transaction (batchOctets 1): a converted one is named by its size
        if (b.messages > 0) converted.push(b.messages === 1 ? (numberOfSize.get(b.octets) ?? NaN) : NaN);
        skippedTotal += b.skipped;
      };
      let settled = false;
      const first = splitWholeMessages(converter, { mailboxId: md.mailboxId, batchOctets: 1, onBatch }).finally(() => {
        settled = true;
      });
      first.catch(() => undefined); // awaited below; a failure must not surface as unhandled while the test waits
      const c = await Pop3TestClient.connect(srv.port);
      try {
        // 1. The conversion has converted 1…11 (3, 6 and 9 among them) and holds X, waiting on gate X
        const [conversionAtX] = await eventually(async () => {
          const w = await lockWaits(CONVERTER);
          return w.length > 0 && w;
        });
        expect(conversionAtX!.blockers).toEqual([gateXPid]);
        names.set(conversionAtX!.pid, 'conversion');
        expect(converted).toEqual(numbers.filter((n) => n < X));

        // 2. A POP3 session: sizes as stored, RETR of converted, held and whole messages, DELE every third, QUIT.
        //    Before the QUIT, the holder takes W and the mailbox row, whose usage the QUIT's transaction updates
        //    after its DELETE (and the trigger deleting parts): so the QUIT cannot commit before the test lets it,
        //    whatever order its DELETE visits the rows in
        expect(await c.greeting()).toMatch(/^\+OK /);
        expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
        expect(await c.cmd('STAT')).toBe(`+OK ${msgs.length} ${msgs.reduce((s, m) => s + m.raw.length, 0)}`);
        expect((await c.multi('UIDL')).body.toString()).toBe(msgs.map((m, i) => `${i + 1} ${m.uidl}\r\n`).join(''));
        for (const n of [1, 2, X, Y, 20, W]) {
          const r = await c.multi(`RETR ${n}`);
          expect(r.status).toBe(`+OK ${byNumber(n).raw.length} octets`);
          expect(r.body.equals(byNumber(n).raw), `RETR ${n} during the conversion`).toBe(true);
        }
        await holder.query('BEGIN');
        await holder.query('SELECT 1 FROM messages WHERE id = $1 FOR UPDATE', [byNumber(W).id]);
        await holder.query('SELECT 1 FROM mailboxes WHERE id = $1 FOR NO KEY UPDATE', [md.mailboxId]);
        for (const n of deleted) expect(await c.cmd(`DELE ${n}`)).toMatch(/^\+OK/);
        c.write('QUIT\r\n');

        // 3. The QUIT's DELETE waits for the conversion's lock on X. (Other test files' servers share the application
        //    name and the database: the QUIT is the POP3 backend waiting for one of this test's.)
        const quitWait = async () => (await lockWaits(POP3)).find((w) => w.blockers.some((pid) => names.has(pid)));
        const quitAtX = await eventually(quitWait);
        expect(
          quitAtX.blockers.map((pid) => names.get(pid) ?? pid),
          'what the QUIT waits for',
        ).toEqual(['conversion']);

        // 4. X is converted and committed under the waiting DELETE, which then deletes it (and its new parts) and
        //    the rest, and waits for the holder; the conversion stops at Y. Every deleted row is the QUIT's now: a
        //    probe that skips locked rows finds none of them free
        await gateX.query('ROLLBACK');
        await eventually(async () => (await lockWaits(CONVERTER)).some((w) => w.blockers.join() === String(gateYPid)));
        const quitAtUsage = await eventually(quitWait);
        expect(
          quitAtUsage.blockers.map((pid) => names.get(pid) ?? pid),
          'what the QUIT waits for',
        ).toEqual(['holder']);
        const free = await prisma.$queryRaw<{ id: string }[]>`
          SELECT id FROM messages WHERE id = ANY(${ids(deleted)}::uuid[]) FOR KEY SHARE SKIP LOCKED`;
        expect(free).toEqual([]);
        expect(converted).toEqual(numbers.filter((n) => n <= X));

        // 5. The conversion goes on past rows the QUIT and the holder keep: it must skip them, not wait for them.
        //    Only a wait on one of those two counts: right after gate Y's ROLLBACK, pg_stat_activity can still show
        //    the conversion waiting (wait_event 'Lock') until its backend runs again, with nothing blocking it
        const keepers = [holderPid, quitAtUsage.pid];
        await gateY.query('ROLLBACK');
        const conversionWaited = await eventually(async () =>
          settled ? 'no' : (await lockWaits(CONVERTER)).some((w) => w.blockers.some((pid) => keepers.includes(pid))) && 'yes',
        );
        expect(conversionWaited, 'the conversion waited for a row lock instead of skipping the row').toBe('no');
        expect(await first).toEqual({
          messages: msgs.length - skippedFirst.length,
          octets: msgs.reduce((s, m, i) => s + (skippedFirst.includes(i + 1) ? 0 : m.raw.length), 0),
          skipped: skippedFirst.length,
        });
        expect(converted).toEqual(numbers.filter((n) => !skippedFirst.includes(n)));

        // 6. The holder lets go: the QUIT commits
        await holder.query('ROLLBACK');
        expect(await c.line()).toBe('+OK Logging out, messages deleted.');
        await c.closed();
      } finally {
        c.destroy();
        for (const g of [gateX, gateY, holder]) {
          await g.query('ROLLBACK').catch(() => undefined);
          g.release();
        }
        await first.catch(() => undefined);
      }

      // Later runs until one converts nothing: W (skipped while held) now; the skipped deleted ones are gone, not
      // skipped again
      const later: SplitWholeMessagesResult[] = [];
      for (;;) {
        const r = await splitWholeMessages(converter, { mailboxId: md.mailboxId, batchOctets: 1, onBatch });
        later.push(r);
        if (r.messages === 0 || later.length > 5) break;
      }
      expect(later).toEqual([
        { messages: 1, octets: byNumber(W).raw.length, skipped: 0 },
        { messages: 0, octets: 0, skipped: 0 },
      ]);
      // each message converted once at most: every kept one, and the deleted ones the conversion reached first
      expect([...converted].sort((a, b) => a - b)).toEqual([...kept, ...deleted.filter((n) => n <= X)].sort((a, b) => a - b));
      expect(skippedTotal).toBe(skippedFirst.length);

      // The mailbox holds exactly the kept messages, each in parts (head in raw, the rest in contiguous full parts),
      // and no deleted message left a part behind
      const rows = await prisma.$queryRaw<
        { id: string; size: number; raw: number; parts: number; first_off: bigint | null; octets: number }[]
      >`
      SELECT m.id::text AS id, m.size_octets AS size, octet_length(m.raw) AS raw,
             (SELECT count(*)::int FROM message_parts p WHERE p.message_id = m.id) AS parts,
             (SELECT min(off) FROM message_parts p WHERE p.message_id = m.id) AS first_off,
             octet_length(m.raw) + (SELECT coalesce(sum(octet_length(data)), 0)::int FROM message_parts p WHERE p.message_id = m.id) AS octets
        FROM messages m WHERE m.mailbox_id = ${md.mailboxId}::uuid ORDER BY m.uid`;
      expect(rows.map((r) => r.id)).toEqual(ids(kept));
      for (const [i, r] of rows.entries()) {
        const raw = byNumber(kept[i]!).raw;
        const head = headOf(raw);
        expect({ size: r.size, raw: r.raw, first: Number(r.first_off), octets: r.octets, parts: r.parts }, `message ${kept[i]}`).toEqual({
          size: raw.length,
          raw: head,
          first: head,
          octets: raw.length,
          parts: Math.ceil((raw.length - head) / MESSAGE_PART_OCTETS),
        });
      }
      const leftovers = await prisma.$queryRaw<{ id: string }[]>`
      SELECT DISTINCT message_id::text AS id FROM message_parts WHERE message_id = ANY(${ids(deleted)}::uuid[])`;
      const numberOfId = new Map(msgs.map((m, i) => [m.id, i + 1]));
      expect(
        leftovers.map((r) => numberOfId.get(r.id)).sort((a, b) => a! - b!),
        'deleted messages that left parts',
      ).toEqual([]);
      const keptOctets = kept.reduce((s, n) => s + byNumber(n).raw.length, 0);
      const mailbox = await prisma.mailbox.findUniqueOrThrow({ where: { id: md.mailboxId } });
      expect([Number(mailbox.usedBytes), mailbox.messageCount]).toEqual([keptOctets, kept.length]);
      expect(Number((await prisma.domain.findUniqueOrThrow({ where: { id: md.domainId } })).usedBytes)).toBe(keptOctets);

      // A new session reads every kept message back as it was stored, now from raw + parts
      const d = await Pop3TestClient.connect(srv.port);
      try {
        await d.greeting();
        expect(await d.login(md.address, md.password)).toBe('+OK Logged in.');
        expect(await d.cmd('STAT')).toBe(`+OK ${kept.length} ${keptOctets}`);
        expect((await d.multi('UIDL')).body.toString()).toBe(kept.map((n, i) => `${i + 1} ${byNumber(n).uidl}\r\n`).join(''));
        for (const [i, n] of kept.entries()) {
          const r = await d.multi(`RETR ${i + 1}`);
          expect(r.status).toBe(`+OK ${byNumber(n).raw.length} octets`);
          expect(r.body.equals(byNumber(n).raw), `RETR of message ${n} after the conversion`).toBe(true);
        }
        expect(await d.cmd('QUIT')).toBe('+OK Logging out.');
      } finally {
        d.destroy();
      }
    },
  );
});
