import { randomBytes } from 'node:crypto';
import { fieldAddresses } from '@mailroom/core';
import { indexOfLfDot } from '@mailroom/core/line-dots';

const CR = 0x0d;
const LF = 0x0a;
const CRLF = Buffer.from('\r\n');

/**
 * Streaming line-ending normaliser: CRLF stays, a bare LF or a bare CR becomes CRLF. Holds back a trailing CR until the
 * next chunk shows whether an LF follows, so chunk boundaries never change the result.
 */
export class CrlfNormalizer {
  private pendingCr = false;

  push(chunk: Buffer): Buffer {
    const parts: Buffer[] = [];
    const len = chunk.length;
    let start = 0;
    let i = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      parts.push(CRLF);
      if (len > 0 && chunk[0] === LF) i = start = 1;
    }
    // jump from line break to line break with indexOf (native) instead of visiting every byte
    let nextCr = chunk.indexOf(CR, i);
    let nextLf = chunk.indexOf(LF, i);
    while (nextCr !== -1 || nextLf !== -1) {
      const pos = nextCr === -1 ? nextLf : nextLf === -1 ? nextCr : Math.min(nextCr, nextLf);
      if (pos === nextCr) {
        if (pos + 1 === len) {
          // a CR at the end of the chunk: the next chunk decides
          parts.push(chunk.subarray(start, pos));
          this.pendingCr = true;
          start = len;
          break;
        }
        if (chunk[pos + 1] === LF) {
          i = pos + 2;
        } else {
          parts.push(chunk.subarray(start, pos), CRLF);
          start = i = pos + 1;
        }
      } else {
        parts.push(chunk.subarray(start, pos), CRLF);
        start = i = pos + 1;
      }
      if (nextCr !== -1 && nextCr < i) nextCr = chunk.indexOf(CR, i);
      if (nextLf !== -1 && nextLf < i) nextLf = chunk.indexOf(LF, i);
    }
    if (start === 0 && !parts.length) return chunk;
    if (start < len) parts.push(chunk.subarray(start));
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  end(): Buffer {
    if (!this.pendingCr) return Buffer.alloc(0);
    this.pendingCr = false;
    return CRLF;
  }
}

/**
 * Whether a line of a message starts with "." (a line starts the message or follows an LF): what POP3 must dot-stuff
 * when it sends the message. Recorded with every stored message (messages.dot_lines), so RETR and TOP skip the
 * stuffing scan for the many that have none (base64 attachments never do). One native search (`indexOfLfDot`).
 */
export function hasDotLines(message: Buffer): boolean {
  return message[0] === 0x2e || indexOfLfDot(message) !== -1;
}

/** Normalises a whole message's line endings to CRLF. */
export function normalizeCrlf(raw: Buffer | string): Buffer {
  const n = new CrlfNormalizer();
  const head = n.push(Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8'));
  const tail = n.end();
  return tail.length ? Buffer.concat([head, tail]) : head;
}

const QUEUE_ID_ALPHABET = '0123456789BCDFGHJKLMNPQRSTVWXYZ';

/** A Postfix-like queue id (uppercase, 12 characters) naming one received message in logs, replies and Received. */
export function newQueueId(): string {
  const bytes = randomBytes(12);
  let id = '';
  for (const b of bytes) id += QUEUE_ID_ALPHABET[b % QUEUE_ID_ALPHABET.length];
  return id;
}

/** RFC 5322 date-time, e.g. `Fri, 27 Nov 2026 00:08:50 +0000`. */
export function rfc5322Date(date: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[date.getUTCDay()]}, ${date.getUTCDate()} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()} ${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())} +0000`;
}

/** Keeps client-supplied text safe inside a header: printable ASCII (and UTF-8), no CR/LF/controls, bounded length. */
export function headerSafe(value: string, maxChars = 200): string {
  const cleaned = value
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .replace(/[()<>\\"]/g, '')
    .trim();
  return cleaned.length > maxChars ? cleaned.slice(0, maxChars) : cleaned;
}

function addressSafe(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u0020\u007f<>]/g, '').slice(0, 512);
}

export interface TraceInfo {
  /** Envelope sender; '' for the null reverse-path (bounces). */
  envelopeFrom: string;
  /** The mailbox address the copy is delivered to. */
  deliveredTo: string;
  /** The recipient as given in RCPT TO (for `for <…>` in Received). */
  rcptTo: string;
  /** HELO/EHLO/LHLO name the client gave. */
  helo: string;
  remoteAddress: string;
  hostname: string;
  /** RFC 3848 "with" keyword: LMTP, SMTP, ESMTP, ESMTPS, … */
  protocol: string;
  queueId: string;
  date: Date;
  /** Fields our own checks produced (Authentication-Results, Received-SPF), CRLF-terminated: they follow Received. */
  authResults?: string | undefined;
}

/**
 * The trace fields Mailroom prepends (RFC 5321 §4.4): Return-Path, Delivered-To and Received, CRLF-terminated, folded
 * so no line exceeds 998 octets; then the sender checks' fields, when there are any (RFC 8601 §5: ours go on top).
 */
export function buildTraceFields(t: TraceInfo): Buffer {
  const helo = headerSafe(t.helo || 'unknown', 255) || 'unknown';
  const ip = headerSafe(t.remoteAddress, 64);
  const lines = [
    `Return-Path: <${addressSafe(t.envelopeFrom)}>`,
    `Delivered-To: ${addressSafe(t.deliveredTo)}`,
    `Received: from ${helo} ([${ip}])\r\n\tby ${headerSafe(t.hostname, 255)} (Mailroom) with ${t.protocol.replace(/[^A-Za-z]/g, '') || 'SMTP'} id ${t.queueId}\r\n\tfor <${addressSafe(t.rcptTo)}>; ${rfc5322Date(t.date)}`,
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n${t.authResults ?? ''}`, 'utf8');
}

/**
 * Splits a stored message into its trace fields (the leading Return-Path, Delivered-To and Received fields that
 * Mailroom prepended) and the message exactly as received. Used by tests and tools that compare round trips.
 */
export function splitTraceFields(stored: Buffer): { trace: Buffer; message: Buffer } {
  let pos = 0;
  const names = ['return-path:', 'delivered-to:', 'received:'];
  for (const name of names) {
    const head = stored
      .subarray(pos, pos + name.length)
      .toString('latin1')
      .toLowerCase();
    if (head !== name) break;
    // the field ends at the first CRLF not followed by folding whitespace
    let end = pos;
    for (;;) {
      const nl = stored.indexOf('\r\n', end);
      if (nl < 0) return { trace: stored.subarray(0, pos), message: stored.subarray(pos) };
      end = nl + 2;
      const next = stored[end];
      if (next !== 0x20 && next !== 0x09) break;
    }
    pos = end;
  }
  return { trace: stored.subarray(0, pos), message: stored.subarray(pos) };
}

/** How far into a message the Message-ID field is looked for (it belongs to the header section, near its top). */
const HEADER_SCAN_OCTETS = 64 * 1024;
const HEADER_SECTION_END = Buffer.from('\r\n\r\n');
/** Longest Message-ID kept for the delivery log. */
const MAX_MESSAGE_ID_CHARS = 250;
/** Most author addresses read from From fields (RFC 5322 allows a list; real mail names one). */
const MAX_AUTHORS = 32;

/**
 * The values of every `name` field (a lower-case field name without regular-expression characters) in a CRLF
 * message's header section, unfolded and read as UTF-8. Looks only at the first `scanOctets` (64 KiB unless told), so
 * it costs the same for any message size, and only the header section becomes a string, never the body.
 */
function headerFieldValues(body: Buffer, name: string, scanOctets = HEADER_SCAN_OCTETS): string[] {
  const scan = body.subarray(0, scanOctets);
  const end = scan.indexOf(HEADER_SECTION_END);
  const section = (end >= 0 ? scan.subarray(0, end + 2) : scan).toString('latin1');
  const field = new RegExp(`(?:^|\r\n)${name}[ \t]*:((?:[^\r]|\r\n[ \t])*)`, 'gi');
  return [...section.matchAll(field)].map((m) => Buffer.from(m[1]!.replace(/\r\n/g, ''), 'latin1').toString('utf8'));
}

/**
 * The Message-ID field's value (unfolded, without control characters, bounded) from a CRLF message's header section,
 * or null when it has none.
 */
export function messageIdHeader(body: Buffer): string | null {
  const raw = headerFieldValues(body, 'message-id')[0];
  if (raw === undefined) return null;
  // eslint-disable-next-line no-control-regex
  const value = raw.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return value ? value.slice(0, MAX_MESSAGE_ID_CHARS) : null;
}

/**
 * The author addresses of a CRLF message: the mailboxes of its From fields (RFC 5322 §3.6.2, core fieldAddresses), in
 * order, each once, at most
 * {@link MAX_AUTHORS}. What the recipient's mail client shows as the sender, unlike MAIL FROM. `headerOctets` is the
 * longest header section accepted (INGRESS_MAX_HEADER_BYTES): a From field after 64 KiB of others is still read, so a
 * long header cannot hide a blocked author.
 */
export function authorAddresses(body: Buffer, headerOctets = HEADER_SCAN_OCTETS): string[] {
  const out = new Set<string>();
  for (const value of headerFieldValues(body, 'from', Math.max(headerOctets, HEADER_SCAN_OCTETS) + 4)) {
    for (const address of fieldAddresses(value)) {
      out.add(address);
      if (out.size >= MAX_AUTHORS) return [...out];
    }
  }
  return [...out];
}
