/**
 * Large messages in parts (see the migration 20261201180000_message_parts): `messages.raw` holds the first octets and
 * `message_parts` the rest, each row one page's worth at its offset in the message.
 */
import type { ClientBase } from 'pg';
import { Prisma, type PrismaClient } from './client.ts';
import { copyBinaryRowsIn } from './pg-copy.ts';

/**
 * Octets per part: the most a `message_parts` row holds in one 8 KB heap page (tuple header 24, uuid 16, bigint 8,
 * bytea length 4, then the octets, aligned to 8: 8152 of the page's 8164 usable octets). The column is STORAGE PLAIN,
 * so a longer part would fail rather than be moved out of line (message-parts.test.ts stores parts of this size).
 */
export const MESSAGE_PART_OCTETS = 8100;

/**
 * Bodies of at least this many octets are stored in parts (`message_parts`, one binary COPY before the statement that
 * inserts their `messages` rows, whose `raw` then holds only the trace fields): measured on 1 MB bodies, PostgreSQL
 * spent 3.4–3.7 ms of CPU per message against 8.5–10.3 ms for TOAST chunks of one `bytea` (README, "Performance").
 * The COPY needs an explicit transaction (the ingress sends BEGIN, the COPY, its statement and COMMIT in one round trip), which
 * small messages (one statement, its own transaction) do without. The ingress decides by it; tests and benchmarks that
 * store messages as the ingress does use it too.
 */
export const PARTS_MIN_BODY_OCTETS = 64 * 1024;

export const storedInParts = (body: Buffer): boolean => body.length >= PARTS_MIN_BODY_OCTETS;

/** One message's octets that go to `message_parts`: `body` follows the `headOctets` stored in `messages.raw`. */
export interface MessagePartsInput {
  messageId: string;
  headOctets: number;
  body: Buffer;
}

function uuidOctets(id: string): Buffer {
  const hex = id.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new TypeError(`not a uuid: ${id}`);
  return Buffer.from(hex, 'hex');
}

function* partRows(messages: readonly MessagePartsInput[]): Generator<Buffer[]> {
  for (const m of messages) {
    const id = uuidOctets(m.messageId);
    for (let at = 0; at < m.body.length; at += MESSAGE_PART_OCTETS) {
      const off = Buffer.allocUnsafe(8);
      off.writeBigInt64BE(BigInt(m.headOctets + at));
      yield [id, off, m.body.subarray(at, at + MESSAGE_PART_OCTETS)];
    }
  }
}

/**
 * Inserts the parts of `messages` with one binary COPY on `client`, inside its transaction (the `messages` rows are
 * inserted by the same transaction; a rollback takes both). The bodies are sent as they are (views, no copy).
 * `before`: statements run first in the same round trip (e.g. the transaction's `BEGIN; SET LOCAL …`).
 * Resolves with the number of parts.
 */
export function copyMessageParts(client: ClientBase, messages: readonly MessagePartsInput[], before?: string): Promise<number> {
  const { copy, rows } = messagePartsCopy(messages);
  return copyBinaryRowsIn(client, before ? `${before}; ${copy}` : copy, rows);
}

/** The COPY of copyMessageParts and its rows, for a caller that sends them itself (queryWithBuffers' copyFirst). */
export function messagePartsCopy(messages: readonly MessagePartsInput[]): { copy: string; rows: Iterable<Buffer[]> } {
  return { copy: 'COPY message_parts (message_id, off, data) FROM STDIN (FORMAT binary)', rows: partRows(messages) };
}

/** Octets of whole messages converted per transaction by splitWholeMessages, unless told otherwise. */
export const SPLIT_BATCH_OCTETS = 32 * 1024 * 1024;
/** Messages splitWholeMessages looks at per query, in id order (their ids, sizes and TOAST pointers only). */
const SPLIT_SCAN_MESSAGES = 5000;
/** How long one conversion transaction may run before Prisma rolls it back: a generous bound (not measured) for the largest --batch-mib (1 GiB). */
const SPLIT_TRANSACTION_TIMEOUT_MS = 30 * 60_000;
const LOWEST_UUID = '00000000-0000-0000-0000-000000000000';

export interface SplitWholeMessagesOptions {
  /** Only this mailbox's messages (default: every mailbox). */
  mailboxId?: string;
  /** Octets of messages per transaction (default SPLIT_BATCH_OCTETS); a larger message gets a transaction of its own. */
  batchOctets?: number;
  /** Count the candidates and their octets; change nothing. */
  dryRun?: boolean;
  /** Called after each committed transaction with what it converted. */
  onBatch?: (batch: SplitWholeMessagesResult) => void;
}

export interface SplitWholeMessagesResult {
  /** Messages converted (dry run: that would be). */
  messages: number;
  /** Their sizes, summed. */
  octets: number;
  /** Messages left whole because another transaction held their row (a POP3 QUIT deleting them, another run): run again. */
  skipped: number;
}

/**
 * Converts large messages stored whole in `raw` (before parts existed, or by an older version) into the form the
 * ingress stores them in, so they are read as cheaply: `raw` keeps the header section (through the first CRLF CRLF, if
 * it ends within the first PARTS_MIN_BODY_OCTETS and before the message does; else nothing), `message_parts` the rest,
 * in MESSAGE_PART_OCTETS rows at their offsets. The message's octets, size, usage, UID/UIDL and dot_lines stay as they
 * were. Candidates (size_octets = octet_length(raw), which reads the TOAST pointer only, and size_octets ≥
 * PARTS_MIN_BODY_OCTETS) are found walking the messages by id, a window at a time, and converted in transactions of
 * about `batchOctets`, the octets copied by PostgreSQL itself (substring slices of the uncompressed TOAST value): none
 * pass through Node.
 * Each transaction locks its rows with SKIP LOCKED and checks again that they are whole, so concurrent runs, readers
 * and deleting POP3 sessions are safe; a row another transaction holds is skipped (and counted) for a later run.
 */
export async function splitWholeMessages(prisma: PrismaClient, options: SplitWholeMessagesOptions = {}): Promise<SplitWholeMessagesResult> {
  const batchOctets = options.batchOctets ?? SPLIT_BATCH_OCTETS;
  if (!(batchOctets > 0)) throw new RangeError(`batchOctets must be positive, got ${batchOctets}`);
  const inMailbox = options.mailboxId ? Prisma.sql`AND mailbox_id = ${options.mailboxId}::uuid` : Prisma.empty;
  const total: SplitWholeMessagesResult = { messages: 0, octets: 0, skipped: 0 };
  let after = LOWEST_UUID;
  for (;;) {
    const { candidates, last } = await nextWindow(prisma, after, inMailbox);
    if (options.dryRun) {
      total.messages += candidates.length;
      total.octets += candidates.reduce((n, m) => n + m.size_octets, 0);
    } else {
      for (const ids of batchesOf(candidates, batchOctets)) {
        const batch = await prisma.$transaction((tx) => splitMessages(tx, ids), { timeout: SPLIT_TRANSACTION_TIMEOUT_MS });
        total.messages += batch.messages;
        total.octets += batch.octets;
        total.skipped += batch.skipped;
        options.onBatch?.(batch);
      }
    }
    if (last === undefined) return total;
    after = last;
  }
}

/**
 * The next SPLIT_SCAN_MESSAGES messages after `after` in id order, and of those the candidates of splitWholeMessages.
 * The window's own query has no other condition than the mailbox, so it reads the primary key's next entries (or one
 * mailbox's rows): with the candidates' condition in it, PostgreSQL estimated few matches and planned a full scan and
 * a sort for every page. `last`: where the next window starts; undefined when this one reached the end.
 */
async function nextWindow(
  prisma: PrismaClient,
  after: string,
  inMailbox: Prisma.Sql,
): Promise<{ candidates: { id: string; size_octets: number }[]; last: string | undefined }> {
  const rows = await prisma.$queryRaw<{ id: string; size_octets: number; candidate: boolean; scanned: number }[]>`
    SELECT x.id::text AS id, x.size_octets, x.candidate, x.scanned FROM (
      SELECT w.*, lead(w.id) OVER (ORDER BY w.id) IS NULL AS last, (count(*) OVER ())::int AS scanned FROM (
        SELECT id, size_octets, size_octets >= ${PARTS_MIN_BODY_OCTETS}::int AND size_octets = octet_length(raw) AS candidate
          FROM messages WHERE id > ${after}::uuid ${inMailbox} ORDER BY id LIMIT ${SPLIT_SCAN_MESSAGES}::int) w) x
     WHERE x.candidate OR x.last
     ORDER BY x.id`;
  const end = rows[rows.length - 1];
  return { candidates: rows.filter((r) => r.candidate), last: end && end.scanned === SPLIT_SCAN_MESSAGES ? end.id : undefined };
}

/** Groups messages, in order, into runs of at most `maxOctets` (a larger message alone). */
function* batchesOf(messages: readonly { id: string; size_octets: number }[], maxOctets: number): Generator<string[]> {
  let ids: string[] = [];
  let octets = 0;
  for (const m of messages) {
    if (ids.length > 0 && octets + m.size_octets > maxOctets) {
      yield ids;
      ids = [];
      octets = 0;
    }
    ids.push(m.id);
    octets += m.size_octets;
  }
  if (ids.length > 0) yield ids;
}

/** One transaction of splitWholeMessages: the messages `ids` that are still whole and not locked by anyone else. */
async function splitMessages(tx: Prisma.TransactionClient, ids: string[]): Promise<SplitWholeMessagesResult> {
  const locked = await tx.$queryRaw<{ id: string; size_octets: number; crlf2: number }[]>`
    SELECT id::text AS id, size_octets,
           position(decode('0d0a0d0a', 'hex') in substring(raw for ${PARTS_MIN_BODY_OCTETS}::int)) AS crlf2
      FROM messages WHERE id = ANY(${ids}::uuid[]) AND size_octets = octet_length(raw)
       FOR UPDATE SKIP LOCKED`;
  let skipped = 0;
  if (locked.length < ids.length) {
    // not returned: held by another transaction (still whole: counted), or since deleted or converted (not counted)
    const mine = new Set(locked.map((m) => m.id));
    const [held] = await tx.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM messages
       WHERE id = ANY(${ids.filter((id) => !mine.has(id))}::uuid[]) AND size_octets = octet_length(raw)`;
    skipped = held!.n;
  }
  if (locked.length === 0) return { messages: 0, octets: 0, skipped };
  // the header section stays in raw (position is 1-based: it ends 3 octets after where CRLF CRLF starts)
  const heads = locked.map((m) => (m.crlf2 > 0 && m.crlf2 + 3 < m.size_octets ? m.crlf2 + 3 : 0));
  const lockedIds = locked.map((m) => m.id);
  const parts = await tx.$executeRaw`
    INSERT INTO message_parts (message_id, off, data)
    SELECT m.id, o, substring(m.raw from o + 1 for ${MESSAGE_PART_OCTETS}::int)
      FROM unnest(${lockedIds}::uuid[], ${heads}::int[]) AS h(id, head)
      JOIN messages m ON m.id = h.id,
           generate_series(h.head, m.size_octets - 1, ${MESSAGE_PART_OCTETS}::int) AS o`;
  const expected = locked.reduce((n, m, i) => n + Math.ceil((m.size_octets - heads[i]!) / MESSAGE_PART_OCTETS), 0);
  if (parts !== expected) throw new Error(`splitting messages wrote ${parts} parts, expected ${expected}`);
  await tx.$executeRaw`
    UPDATE messages m SET raw = substring(m.raw for h.head)
      FROM unnest(${lockedIds}::uuid[], ${heads}::int[]) AS h(id, head)
     WHERE m.id = h.id`;
  return { messages: locked.length, octets: locked.reduce((n, m) => n + m.size_octets, 0), skipped };
}
