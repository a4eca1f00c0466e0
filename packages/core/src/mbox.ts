import { CrlfLineJoiner } from './crlf-lines.ts';
import { AppError } from './errors.ts';
import type { MboxFormat } from './schemas/messages.ts';

/**
 * mbox (RFC 4155) in the mboxrd dialect: each message starts with a `From sender asctime-date` line and ends with an
 * empty line; a body line matching `^>*From ` gets one more `>` on export and loses one on import (mboxo: only lines
 * `^>From ` lose it, as mboxo writers quote only `From `). Lines end in LF in the file and CRLF in storage.
 *
 * A stored message always ends in CRLF except when it was handed over without a final newline; the file cannot tell
 * such a message from one with a final newline (the separator is an empty line), so export ends it with a newline and
 * it comes back with a final CRLF. POP3 RETR cannot show the difference either (RFC 1939 ends every multi-line
 * response with CRLF . CRLF), so a round trip through POP3 gives the same lines.
 */

const LF = Buffer.from('\n');
const CR = Buffer.from('\r');
const QUOTE = Buffer.from('>');
const FROM_ = Buffer.from('From ');

type LineStart = 'quote' | 'plain' | 'undecided';

/** Whether the line starting at `pos` matches `>*From ` (quote), cannot (plain) or ends before it is known. */
function classifyLineStart(buf: Buffer, pos: number): LineStart {
  let i = pos;
  while (i < buf.length && buf[i] === 0x3e) i++;
  for (let k = 0; k < FROM_.length; k++, i++) {
    if (i >= buf.length) return 'undecided';
    if (buf[i] !== FROM_[k]) return 'plain';
  }
  return 'quote';
}

/** Streams one stored message (CRLF) into mboxrd body lines (LF, `>`-quoted), chunk by chunk with constant memory. */
export class MboxrdEncoder {
  private lineStart = true;
  private held: Buffer | undefined;
  private heldCr = false;

  push(input: Buffer): Buffer {
    let chunk = input;
    const parts: Buffer[] = [];
    if (this.held) {
      chunk = Buffer.concat([this.held, chunk]);
      this.held = undefined;
    }
    let pos = 0;
    if (this.heldCr) {
      this.heldCr = false;
      if (chunk[0] === 0x0a) {
        parts.push(LF);
        pos = 1;
        this.lineStart = true;
      } else parts.push(CR);
    }
    while (pos < chunk.length) {
      if (this.lineStart) {
        const start = classifyLineStart(chunk, pos);
        if (start === 'undecided') {
          this.held = Buffer.from(chunk.subarray(pos));
          break;
        }
        if (start === 'quote') parts.push(QUOTE);
        this.lineStart = false;
      }
      const lf = chunk.indexOf(0x0a, pos);
      if (lf === -1) {
        let end = chunk.length;
        if (chunk[end - 1] === 0x0d) {
          end--;
          this.heldCr = true;
        }
        parts.push(chunk.subarray(pos, end));
        pos = chunk.length;
      } else {
        const end = lf > pos && chunk[lf - 1] === 0x0d ? lf - 1 : lf;
        parts.push(chunk.subarray(pos, end), LF);
        pos = lf + 1;
        this.lineStart = true;
      }
    }
    return Buffer.concat(parts);
  }

  /** The rest, a final newline if the message lacked one, and the empty separator line. */
  end(): Buffer {
    const parts: Buffer[] = [];
    if (this.held) {
      parts.push(this.held);
      this.lineStart = false;
    }
    if (this.heldCr) {
      parts.push(CR);
      this.lineStart = false;
    }
    if (!this.lineStart) parts.push(LF);
    parts.push(LF);
    return Buffer.concat(parts);
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The `From ` separator line: envelope sender (MAILER-DAEMON for the null sender) and the asctime() UTC date. */
export function mboxFromLine(envelopeFrom: string | null, date: Date): Buffer {
  // eslint-disable-next-line no-control-regex -- control characters must not reach the From_ line
  const sender = (envelopeFrom ?? '').replace(/[\s\u0000-\u001f\u007f]/g, '') || 'MAILER-DAEMON';
  const p = (n: number) => String(n).padStart(2, '0');
  const d = date;
  const when = `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
  return Buffer.from(`From ${sender} ${when}\n`, 'utf8');
}

/** One message read from an mbox: envelope sender ('' for MAILER-DAEMON), the From_ line's date, CRLF octets. */
export interface MboxMessage {
  envelopeFrom: string;
  date: Date | undefined;
  raw: Buffer;
}

export interface ReadMboxOptions {
  format: MboxFormat;
  /** A message larger than this (CRLF octets) stops the import with MESSAGE_TOO_LARGE. */
  maxMessageOctets: number;
}

const EMPTY = Buffer.alloc(0);

function parseFromLine(line: Buffer): { envelopeFrom: string; date: Date | undefined } {
  const text = line.toString('latin1').slice(5).trim();
  const space = text.indexOf(' ');
  const sender = space === -1 ? text : text.slice(0, space);
  const rest = space === -1 ? '' : text.slice(space + 1).trim();
  const m = /^[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/.exec(rest);
  const month = m ? MONTHS.indexOf(m[1]!) : -1;
  const date =
    m && month >= 0 ? new Date(Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]))) : undefined;
  return { envelopeFrom: sender === 'MAILER-DAEMON' ? '' : sender, date: date && !Number.isNaN(date.getTime()) ? date : undefined };
}

/**
 * Streams messages out of an mbox file (mboxrd or mboxo), one at a time: memory holds the current message only.
 * A message starts at a `From ` line at the start of the file or after an empty line; the empty line before the next
 * separator (or at the end of the file) belongs to the file, not the message. Text before the first separator other
 * than empty lines is refused (VALIDATION_FAILED: not an mbox file).
 */
export async function* readMbox(source: AsyncIterable<Buffer | string>, opts: ReadMboxOptions): AsyncGenerator<MboxMessage> {
  const unquote = opts.format === 'mboxrd' ? /^>+From / : /^>From /;
  // `emptyHeld`: the last line was empty; it is written only when another line follows (before a separator or at the end
  // of the file it belongs to the file, not the message); `octets`: what the lines read so far make, a held empty line
  // included (the size limit counts it; none read yet while it is 0)
  let current: { envelopeFrom: string; date: Date | undefined; body: CrlfLineJoiner; emptyHeld: boolean; octets: number } | undefined;
  let index = 0;
  let partial: Buffer[] = [];
  let partialOctets = 0;
  const tooLarge = () =>
    new AppError('MESSAGE_TOO_LARGE', `Message ${index} of the mbox is larger than ${opts.maxMessageOctets} octets`, {
      details: { message: index, maxMessageOctets: opts.maxMessageOctets },
    });
  const finish = (): MboxMessage | undefined => {
    if (!current) return undefined;
    const msg = { envelopeFrom: current.envelopeFrom, date: current.date, raw: current.body.toBuffer() };
    current = undefined;
    return msg;
  };
  const onLine = (raw: Buffer): MboxMessage | undefined => {
    const line = raw.length && raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw;
    const startsFrom = line.length >= 5 && line.subarray(0, 5).equals(FROM_);
    if (startsFrom && (!current || current.octets === 0 || current.emptyHeld)) {
      const done = finish();
      index++;
      current = { ...parseFromLine(line), body: new CrlfLineJoiner(), emptyHeld: false, octets: 0 };
      return done;
    }
    if (!current) {
      if (line.length === 0) return undefined;
      throw new AppError('VALIDATION_FAILED', 'Not an mbox file: it must start with a "From " line', {
        fields: [{ path: 'body', message: 'must start with a "From " separator line', code: 'not_mbox' }],
      });
    }
    let body = line;
    if (line[0] === 0x3e && unquote.test(line.subarray(0, 1 + Math.min(line.length - 1, 4096)).toString('latin1'))) body = line.subarray(1);
    current.octets += body.length + 2;
    if (current.octets > opts.maxMessageOctets + 2) throw tooLarge();
    if (current.emptyHeld) current.body.push(EMPTY);
    current.emptyHeld = body.length === 0;
    if (!current.emptyHeld) current.body.push(body);
    return undefined;
  };
  for await (const input of source) {
    const chunk = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
    let pos = 0;
    for (;;) {
      const lf = chunk.indexOf(0x0a, pos);
      if (lf === -1) {
        if (pos < chunk.length) {
          partial.push(chunk.subarray(pos));
          partialOctets += chunk.length - pos;
          if (partialOctets > opts.maxMessageOctets + 2) throw tooLarge();
        }
        break;
      }
      const piece = chunk.subarray(pos, lf);
      const line = partial.length ? Buffer.concat([...partial, piece]) : piece;
      partial = [];
      partialOctets = 0;
      const msg = onLine(line);
      if (msg) yield msg;
      pos = lf + 1;
    }
  }
  if (partial.length) {
    const msg = onLine(Buffer.concat(partial));
    if (msg) yield msg;
  }
  const last = finish();
  if (last) yield last;
}
