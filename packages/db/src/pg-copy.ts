import type { ClientBase } from 'pg';
import type { PgPool, PgPoolClient } from './client.ts';
import { claimAssembled, returnAssembled } from './framed-socket.ts';

/** "PGCOPY\n\377\r\n\0" + int32 flags + int32 header-extension length. */
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const COPY_HEADER_OCTETS = COPY_SIGNATURE.length + 8;

/**
 * Decodes the CopyData messages of `COPY (SELECT one bytea column …) TO STDOUT (FORMAT binary)`. PostgreSQL sends
 * exactly one CopyData message per row (the file header rides in front of the first one), so each message is
 * [header] int16 field count, int32 length, octets — or the trailer, int16 -1. Returns the row's octets (a view into
 * `message`), `null` for the trailer, or throws on anything else.
 */
export class BinaryCopyRowDecoder {
  private headerSeen = false;
  rows = 0;

  decode(message: Buffer): Buffer | null {
    let pos = 0;
    if (!this.headerSeen) {
      if (message.length < COPY_HEADER_OCTETS || !message.subarray(0, COPY_SIGNATURE.length).equals(COPY_SIGNATURE)) {
        throw new Error('COPY binary: bad header');
      }
      pos = COPY_HEADER_OCTETS + message.readUInt32BE(COPY_SIGNATURE.length + 4);
      this.headerSeen = true;
    }
    const fields = message.readInt16BE(pos);
    if (fields === -1) return null;
    if (fields !== 1) throw new Error(`COPY binary: expected 1 field, got ${fields}`);
    const len = message.readInt32BE(pos + 2);
    if (len < 0) throw new Error('COPY binary: unexpected NULL');
    const start = pos + 6;
    if (start + len !== message.length) throw new Error('COPY binary: row length mismatch');
    this.rows++;
    return message.subarray(start, start + len);
  }
}

/** The parts of pg's connection this needs (pg's "submittable" query protocol). */
interface PgConnection {
  query(text: string): void;
  stream: { pause(): void; resume(): void };
}

export interface CopyStreamOptions {
  /** Octets queued from PostgreSQL before its connection's socket is paused. */
  highWaterOctets: number;
  /**
   * Refill the buffer of a yielded row once the consumer asks for the next one (it must be done with it by then).
   * A row is a view of the memory pg's parser was given, which gets reused: a row that a framed socket assembled from
   * several reads keeps that socket's assembly buffer (no copy), any other is copied out. With this, those buffers go
   * back to the framer and the copies into a handful of buffers (queue depth + 1), so a download of any size
   * allocates a few buffers instead of one per row for the GC to find later.
   */
  reuseBuffers?: boolean;
}

/**
 * Streams the rows of a one-bytea-column `COPY … TO STDOUT (FORMAT binary)` on one pooled connection, as Buffers, with
 * backpressure: the connection's socket is paused while more than `highWaterOctets` wait to be consumed, so PostgreSQL
 * (through TCP) waits for the POP3 client. The octets arrive raw — no hex/base64/text decoding on either side.
 *
 * If the consumer stops early, the connection is destroyed rather than returned (the COPY may still be running).
 */
export async function* streamCopyRows(pool: PgPool, sql: string, options: CopyStreamOptions): AsyncGenerator<Buffer> {
  const { highWaterOctets, reuseBuffers = false } = options;
  // held for the whole download: a connection PostgreSQL closes meanwhile fails this stream, never the process (the
  // pools of createPgPool listen to every client's errors)
  const client: PgPoolClient = await pool.connect();
  /** Buffers the consumer has finished with (reuseBuffers), ready to take the next rows. */
  const spare: Buffer[] = [];
  const take = (octets: number): Buffer => {
    const i = spare.findIndex((b) => b.length >= octets);
    if (i !== -1) return spare.splice(i, 1)[0]!.subarray(0, octets);
    return Buffer.allocUnsafeSlow(octets);
  };
  const decoder = new BinaryCopyRowDecoder();
  /** Rows to yield, each with the framed socket's assembly buffer it is a view of, if it was claimed. */
  const queue: { row: Buffer; assembly: Buffer | undefined }[] = [];
  let queued = 0;
  let finished = false;
  let failure: Error | undefined;
  let paused = false;
  let connection: PgConnection | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const fail = (err: Error) => {
    failure ??= err;
    notify();
  };

  const submittable = {
    callback: undefined as unknown,
    submit(con: PgConnection) {
      connection = con;
      con.query(sql);
    },
    handleCopyOutResponse() {},
    handleCopyData(msg: { chunk: Buffer }, con: PgConnection) {
      if (failure) return;
      let row: Buffer | null;
      try {
        row = decoder.decode(msg.chunk);
      } catch (err) {
        fail(err as Error);
        return;
      }
      if (row === null) return;
      // The memory under `row` gets reused for later messages: keep the assembly buffer, else our own copy.
      const assembly = claimAssembled(con.stream, row);
      let kept = row;
      if (!assembly) {
        kept = take(row.length);
        row.copy(kept);
      }
      queue.push({ row: kept, assembly });
      queued += kept.length;
      if (queued > highWaterOctets && !paused) {
        paused = true;
        con.stream.pause();
      }
      notify();
    },
    handleCommandComplete() {},
    handleRowDescription() {},
    handleDataRow() {},
    handleEmptyQuery() {},
    handlePortalSuspended() {},
    handleError(err: Error) {
      fail(err);
    },
    handleReadyForQuery() {
      finished = true;
      notify();
    },
  };

  let clean = false;
  try {
    client.query(submittable as never);
    for (;;) {
      if (queue.length) {
        const { row, assembly } = queue.shift()!;
        queued -= row.length;
        if (paused && queued <= highWaterOctets) {
          paused = false;
          connection?.stream.resume();
        }
        yield row;
        // The consumer asked for more, so it is done with `row`: the framer may assemble in its buffer again, or its
        // whole allocation (take() gives each copied row one of its own, from offset 0) can take another row. Without
        // reuseBuffers a claimed buffer is never given back: the consumer may keep the row.
        if (reuseBuffers) {
          if (assembly) returnAssembled(connection!.stream, assembly);
          else if (row.length > 0) spare.push(Buffer.from(row.buffer));
        }
        continue;
      }
      if (failure) throw failure;
      if (finished) break;
      await new Promise<void>((r) => (wake = r));
    }
    clean = !failure;
  } finally {
    if (paused) connection?.stream.resume();
    // A COPY still running (early stop) or a failed one: do not hand that connection to anybody else.
    client.release(clean && finished ? undefined : true);
  }
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The COPY that streams one stored message in rows of about `chunkOctets`, in order, for streamCopyRows. A message is
 * `messages.raw` followed by its `message_parts` (large messages, see the migration 20261201180000_message_parts) in
 * offset order. Row i holds the octets of `raw` in [i·chunk, (i+1)·chunk) followed by the parts that start in that
 * window (so a row may run a part's length past it, and the next row starts where that part ends); a message without
 * parts (size_octets = octet_length(raw)) is sliced from `raw` alone, as before parts existed.
 *
 * COPY takes no bind parameters, so the ids must be uuids (undefined otherwise: no such message). For an empty message
 * the series still has one element (0), so a present message always gives at least one row; none = the message is gone.
 *
 * No ORDER BY: the series is a function of the message row (an implicit LATERAL), so the plan can only be a nested loop
 * over that one row with the function scan inside, which yields the slices in series order. With `ORDER BY i`,
 * PostgreSQL sorted the computed slices themselves: every download of a 50 MiB message wrote the whole message to a
 * temporary file and read it back (EXPLAIN ANALYZE: "Sort Method: external merge Disk: 51384kB"), which was most of
 * the database's CPU time per RETR. The parts of one window are ordered inside their aggregate (one window's worth,
 * in memory). pg-copy.test.ts checks the plan has no Sort at the top and the order on many-slice messages of both forms.
 */
export function storedMessageCopySql(mailboxId: string, messageId: string, chunkOctets: number): string | undefined {
  if (!UUID_PATTERN.test(mailboxId) || !UUID_PATTERN.test(messageId)) return undefined;
  const chunk = Math.max(1, Math.trunc(chunkOctets));
  return `COPY (SELECT ${messageWindowSql('m', `i * ${chunk}`, chunk)}
      FROM messages m, generate_series(0, greatest(greatest(m.size_octets, octet_length(m.raw)) - 1, 0) / ${chunk}) AS i
      WHERE m.id = '${messageId}'::uuid AND m.mailbox_id = '${mailboxId}'::uuid) TO STDOUT (FORMAT binary)`;
}

/**
 * SQL for the octets of the message in row `m` (an alias of `messages`) in the window [from, from + length): the octets
 * of its `raw` in the window, followed by the `message_parts` that start in it (so it may run up to a part's length
 * past the window's end; the next window starts where that part ends). A message without parts (size_octets =
 * octet_length(raw)) is cut from `raw` alone. `from` is an int SQL expression (substring takes int positions; a
 * message is far below 2 GiB); `length` a whole number.
 */
export function messageWindowSql(m: string, from: string, length: number): string {
  const n = Math.max(1, Math.trunc(length));
  const slice = `substring(${m}.raw from (${from}) + 1 for ${n})`;
  const parts = `coalesce((SELECT string_agg(p.data, ''::bytea ORDER BY p.off) FROM message_parts p
                           WHERE p.message_id = ${m}.id AND p.off >= (${from}) AND p.off < (${from}) + ${n}), ''::bytea)`;
  // A window past the end of `raw` (all but the first of a large message's) is its parts alone: concatenating an
  // empty slice in front would copy the whole window once more (a sixth of the query's time on 50 MiB).
  return `CASE WHEN ${m}.size_octets <= octet_length(${m}.raw) THEN ${slice}
               WHEN (${from}) >= octet_length(${m}.raw) THEN ${parts}
               ELSE ${slice} || ${parts} END`;
}

/** The parts of pg's connection a COPY … FROM STDIN writes to. */
interface PgCopyInConnection {
  query(text: string): void;
  stream: { cork(): void; uncork(): void; write(chunk: Buffer): boolean };
}

/** Fields at least this long are written as they are (a view of the caller's buffer), shorter ones into the row header. */
const COPY_IN_INLINE_MAX = 256;

/** The stream a COPY's rows are written to (pg's connection stream). */
interface CopyOut {
  write(chunk: Buffer): boolean;
}

const copyDataHeader = (length: number): Buffer => {
  const b = Buffer.allocUnsafe(5);
  b[0] = 0x64; // 'd' CopyData
  b.writeInt32BE(length + 4, 1);
  return b;
};

/**
 * Writes a binary COPY's file header, `rows` and trailer as CopyData messages to `out` (under the caller's cork), then
 * CopyDone, or CopyFail if a row could not be framed (PostgreSQL then reports the error; never half a row). Returns
 * the rows written and that failure.
 */
export function writeBinaryCopyRows(
  out: CopyOut,
  rows: Iterable<readonly (Buffer | null)[]>,
): { sent: number; failure: Error | undefined } {
  let sent = 0;
  let failure: Error | undefined;
  try {
    const header = Buffer.alloc(COPY_HEADER_OCTETS);
    COPY_SIGNATURE.copy(header);
    out.write(Buffer.concat([copyDataHeader(header.length), header]));
    for (const fields of rows) {
      let length = 2;
      let inline = 2;
      for (const f of fields) {
        length += 4 + (f?.length ?? 0);
        inline += 4 + (f && f.length < COPY_IN_INLINE_MAX ? f.length : 0);
      }
      if (length > 0x7fffffff - 4) throw new RangeError(`COPY row of ${length} octets is too large`);
      const head = Buffer.allocUnsafe(5 + inline);
      head[0] = 0x64;
      head.writeInt32BE(length + 4, 1);
      head.writeInt16BE(fields.length, 5);
      let pos = 7;
      let pending = head;
      for (const f of fields) {
        if (!f) {
          pos = pending.writeInt32BE(-1, pos);
          continue;
        }
        pos = pending.writeInt32BE(f.length, pos);
        if (f.length < COPY_IN_INLINE_MAX) {
          pos += f.copy(pending, pos);
          continue;
        }
        // a long field: everything before it, then its octets as they are
        out.write(pending.subarray(0, pos));
        out.write(f);
        pending = pending.subarray(pos);
        pos = 0;
      }
      if (pos > 0) out.write(pending.subarray(0, pos));
      sent++;
    }
    out.write(Buffer.concat([copyDataHeader(2), Buffer.from([0xff, 0xff])]));
  } catch (err) {
    failure = err as Error;
  }
  if (failure) {
    const reason = Buffer.from('mailroom: bad row\0', 'latin1');
    const fail = Buffer.allocUnsafe(5);
    fail[0] = 0x66; // 'f' CopyFail
    fail.writeInt32BE(reason.length + 4, 1);
    out.write(Buffer.concat([fail, reason]));
  } else {
    out.write(Buffer.from([0x63, 0, 0, 0, 4])); // 'c' CopyDone
  }
  return { sent, failure };
}

/**
 * Runs `COPY … FROM STDIN (FORMAT binary)` with the given rows on `client` (inside the caller's transaction, if any)
 * and resolves with the number of rows sent. Each field is the binary form of its column (Buffer) or null (NULL). Long
 * fields are never copied: each row is one CopyData message whose framing and short fields go in one small buffer and
 * whose long fields follow as the caller's buffers, all written under one cork (one writev). A failing COPY (bad row,
 * constraint, cancelled) rejects with PostgreSQL's error, and the transaction is then aborted as with any statement.
 *
 * `sql` may start with other statements (`BEGIN; SET LOCAL …; COPY …`: one simple query, run in order). The rows follow
 * the query at once, without waiting for PostgreSQL's CopyInResponse, so the whole query costs one round trip: the
 * server reads them once its COPY starts, and if the query fails before that, it ignores CopyData and CopyDone outside
 * a COPY (the protocol's rule for a client still sending after a failed COPY). message-parts.test.ts checks both.
 */
export function copyBinaryRowsIn(client: ClientBase, sql: string, rows: Iterable<readonly (Buffer | null)[]>): Promise<number> {
  return new Promise((resolve, reject) => {
    let written: { sent: number; failure: Error | undefined } = { sent: 0, failure: undefined };
    const submittable = {
      callback: undefined as unknown,
      submit(con: PgCopyInConnection) {
        const out = con.stream;
        out.cork();
        con.query(sql);
        written = writeBinaryCopyRows(out, rows);
        out.uncork();
      },
      // the rows went with the query
      handleCopyInResponse() {},
      handleCommandComplete() {},
      handleRowDescription() {},
      handleDataRow() {},
      handleEmptyQuery() {},
      // pg gives up its active query on an error (the ReadyForQuery after it reaches nobody): settle here
      handleError(err: Error) {
        reject(written.failure ?? err);
      },
      handleReadyForQuery() {
        if (written.failure) reject(written.failure);
        else resolve(written.sent);
      },
    };
    client.query(submittable as never);
  });
}
