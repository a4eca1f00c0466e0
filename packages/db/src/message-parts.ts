/**
 * Large messages in parts (see the migration 20261201180000_message_parts): `messages.raw` holds the first octets and
 * `message_parts` the rest, each row one page's worth at its offset in the message.
 */
import type { ClientBase } from 'pg';
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
 * The COPY needs an explicit transaction (BEGIN shares its round trip; the statement and COMMIT take one each), which
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
  const copy = 'COPY message_parts (message_id, off, data) FROM STDIN (FORMAT binary)';
  return copyBinaryRowsIn(client, before ? `${before}; ${copy}` : copy, partRows(messages));
}
