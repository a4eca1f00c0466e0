import type { SMTPServerDataStream } from 'smtp-server';
import { CrlfNormalizer } from './message.ts';

export interface Collected {
  body: Buffer | null;
  bytes: number;
  tooBig: boolean;
  headerTooBig: boolean;
  /** The memory budget was exhausted by concurrent messages. */
  busy: boolean;
}

/**
 * What one octet of message data really costs the process while its message is collected and stored, measured with
 * bench/memory.ts: the collected chunks and the one contiguous copy made of them (the store sends that copy to
 * PostgreSQL as it is: queryWithBuffers), plus socket read buffers and allocator slack not yet returned. Measured
 * 2.3 (3 concurrent 50 MiB deliveries: 351 MiB over the base); 3 keeps headroom.
 */
export const MEMORY_COST_PER_OCTET = 3;

/**
 * Memory held for message data across all sessions, in octets × {@link MEMORY_COST_PER_OCTET}, so many large messages
 * at once cannot exhaust memory: what does not fit is refused with 452 4.3.1 and drained, never buffered.
 */
export class MemoryBudget {
  used = 0;
  constructor(readonly max: number) {}

  take(n: number): boolean {
    if (this.used + n > this.max) return false;
    this.used += n;
    return true;
  }

  release(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * Reads DATA with CRLF normalisation, keeping at most `maxBytes` in memory (and only while the shared budget allows):
 * past a limit (or past `maxHeaderBytes` without the end of the header section) it drops what it holds and only
 * drains the rest, so the reply can be sent. The caller releases `held()` from the budget once done with the body.
 */
export function collectMessage(
  stream: SMTPServerDataStream,
  maxBytes: number,
  maxHeaderBytes: number,
  budget: MemoryBudget,
): { done: Promise<Collected>; held(): number } {
  let held = 0;
  const done = new Promise<Collected>((resolve, reject) => {
    const normalizer = new CrlfNormalizer();
    let chunks: Buffer[] = [];
    let bytes = 0;
    let tooBig = false;
    let headerTooBig = false;
    let busy = false;
    let headerEnded = false;
    // a virtual CRLF before the message, so a message starting with an empty line has an empty header section
    let tail = Buffer.from('\r\n');
    const drop = () => {
      chunks = [];
      budget.release(held);
      held = 0;
    };
    const take = (buf: Buffer) => {
      if (!buf.length) return;
      bytes += buf.length;
      if (tooBig || headerTooBig || busy) return;
      if (!headerEnded) {
        const joined = Buffer.concat([tail, buf]);
        const joinedStart = bytes - buf.length - tail.length;
        const at = joined.indexOf(HEADER_END);
        // header section length: up to and including the CRLF of its last field
        const headerBytes = at >= 0 ? joinedStart + at + 2 : bytes;
        if (at >= 0) headerEnded = true;
        else tail = joined.subarray(Math.max(0, joined.length - 3));
        if (headerBytes > maxHeaderBytes) {
          headerTooBig = true;
          drop();
          return;
        }
      }
      if (bytes > maxBytes) {
        tooBig = true;
        drop();
        return;
      }
      const cost = buf.length * MEMORY_COST_PER_OCTET;
      if (!budget.take(cost)) {
        busy = true;
        drop();
        return;
      }
      held += cost;
      chunks.push(buf);
    };
    stream.on('data', (chunk: Buffer) => take(normalizer.push(chunk)));
    stream.once('error', (err) => {
      drop();
      reject(err);
    });
    stream.once('end', () => {
      take(normalizer.end());
      const ok = !tooBig && !headerTooBig && !busy;
      resolve({ body: ok ? Buffer.concat(chunks, bytes) : null, bytes, tooBig, headerTooBig, busy });
    });
  });
  return { done, held: () => held };
}
