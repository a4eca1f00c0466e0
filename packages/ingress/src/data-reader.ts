/**
 * The DATA phase reader of SMTP and LMTP (RFC 5321 §4.1.1.4 and §4.5.2, RFC 2033): finds the end of the message data
 * and removes the dot a client puts before every line that starts with ".".
 *
 * - Only CRLF "." CRLF ends the data (or "." CRLF as its very first line). A "." line after a bare LF or a bare CR is
 *   message content: a server that ended DATA there would let a client smuggle commands past an upstream MTA that
 *   does not (SMTP smuggling, CVE-2023-51764 and its kin).
 * - A line that starts with "." followed by other characters loses that first "." (RFC 5321 §4.5.2, as Postfix and
 *   Dovecot do); a "." line after a bare line break keeps its dot.
 *
 * It costs one native search per chunk and per line that starts with a dot (`indexOfLfDot` looks for the dots
 * themselves, so a base64 body is one scan), never a pass over every octet in JavaScript, and it copies nothing:
 * content comes back as subarrays of the chunks it was given. The only exception is a chunk that ends inside a
 * line-leading "." or ".\r", whose meaning depends on the next chunk: those one or two octets are held and joined to
 * it.
 */
import { indexOfLfDot } from '@mailroom/core/line-dots';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

export interface DataChunk {
  /** Message content from this chunk, in order (dot-unstuffed, line endings untouched). */
  pieces: Buffer[];
  /** Set once the terminating line was read: the octets after it (pipelined commands), possibly empty. */
  rest: Buffer | null;
}

export class DataReader {
  private held: Buffer | null = null;
  /** The next chunk starts a line (the data's start, or the last octet was LF). */
  private lineStart = true;
  /** That line break was CRLF (or it is the data's start): only then can a "." line end the data. */
  private afterCrlf = true;
  /** The last octet seen (-1 before any). */
  private lastOctet = -1;
  private ended = false;

  /** Reads the next chunk of the data phase. Must not be called again once a result had `rest` set. */
  feed(input: Buffer): DataChunk {
    if (this.ended) throw new Error('DATA already ended');
    const chunk = this.held ? Buffer.concat([this.held, input]) : input;
    this.held = null;
    const len = chunk.length;
    const pieces: Buffer[] = [];
    let start = 0;
    // a "." at the start of a line: where it is, and whether that line follows a CRLF
    let dot = -1;
    let crlf = false;
    if (this.lineStart && len > 0 && chunk[0] === DOT) {
      dot = 0;
      crlf = this.afterCrlf;
    }
    let from = 0;
    for (;;) {
      if (dot < 0) {
        const lf = indexOfLfDot(chunk, from);
        if (lf < 0) break;
        dot = lf + 1;
        crlf = lf > 0 ? chunk[lf - 1] === CR : this.lastOctet === CR;
      }
      if (dot + 1 >= len || (chunk[dot + 1] === CR && dot + 2 >= len)) {
        // "." or ".\r" at the very end: the next chunk decides what it is
        if (dot > start) pieces.push(chunk.subarray(start, dot));
        this.held = Buffer.from(chunk.subarray(dot));
        this.lineStart = true;
        this.afterCrlf = crlf;
        return { pieces, rest: null };
      }
      const next = chunk[dot + 1]!;
      if (crlf && next === CR && chunk[dot + 2] === LF) {
        // the terminating line: everything before it (its leading CRLF included) is content
        if (dot > start) pieces.push(chunk.subarray(start, dot));
        this.ended = true;
        return { pieces, rest: chunk.subarray(dot + 3) };
      }
      if (next !== CR && next !== LF) {
        // a stuffed dot: drop it
        if (dot > start) pieces.push(chunk.subarray(start, dot));
        start = dot + 1;
      }
      from = dot + 1;
      dot = -1;
    }
    if (start < len) pieces.push(start === 0 ? chunk : chunk.subarray(start));
    if (len > 0) {
      const last = chunk[len - 1]!;
      this.lineStart = last === LF;
      this.afterCrlf = last === LF && (len > 1 ? chunk[len - 2] === CR : this.lastOctet === CR);
      this.lastOctet = last;
    }
    return { pieces, rest: null };
  }
}
