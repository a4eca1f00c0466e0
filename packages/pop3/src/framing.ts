import type { Duplex } from 'node:stream';
import { indexOfLfDot } from '@mailroom/core/line-dots';

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`command line longer than ${limit} octets`);
    this.name = 'LineTooLongError';
  }
}

/**
 * Reads CRLF- (or LF-) terminated command lines from a stream with a hard length limit and backpressure: the stream
 * is paused whenever a complete line is buffered, so the next command is only read from the socket once the caller
 * asks for it (i.e. after the previous reply was written). Pipelined commands stay buffered in order. At most
 * `maxLineOctets` plus one socket read is ever buffered.
 */
export class LineReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: { resolve: (line: string | null) => void; reject: (err: Error) => void } | undefined;
  private ended = false;
  private stream: Duplex | undefined;

  constructor(private readonly maxLineOctets: number) {}

  private readonly onData = (chunk: Buffer) => {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.stream?.pause();
    this.deliver();
  };

  private readonly onEnd = () => {
    this.ended = true;
    this.deliver();
  };

  /** Starts reading from `stream` (paused until a line is requested). */
  attach(stream: Duplex): void {
    this.stream = stream;
    this.ended = false;
    stream.pause();
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onEnd);
    this.deliver();
  }

  /**
   * Stops reading from the current stream and throws away anything buffered but not yet consumed; returns how many
   * octets were discarded. Used for STLS: plaintext pipelined behind STLS must never be executed after the upgrade.
   */
  detach(): number {
    const s = this.stream;
    if (s) {
      s.off('data', this.onData);
      s.off('end', this.onEnd);
      s.off('close', this.onEnd);
      s.off('error', this.onEnd);
      s.pause();
    }
    this.stream = undefined;
    const discarded = this.buf.length;
    this.buf = Buffer.alloc(0);
    return discarded;
  }

  /** Octets received but not yet consumed as lines. */
  get buffered(): number {
    return this.buf.length;
  }

  /** True while a caller waits for a line that has not arrived yet. */
  get waiting(): boolean {
    return this.waiter !== undefined;
  }

  /** The next line without its line ending, or null when the peer closed. Rejects with LineTooLongError on abuse. */
  nextLine(): Promise<string | null> {
    if (this.waiter) throw new Error('nextLine() is already pending');
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.deliver();
    });
  }

  private settle(fn: (w: NonNullable<LineReader['waiter']>) => void) {
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    fn(w);
  }

  private deliver(): void {
    if (!this.waiter) return;
    const nl = this.buf.indexOf(LF);
    if (nl >= 0) {
      if (nl + 1 > this.maxLineOctets) {
        this.buf = Buffer.alloc(0);
        this.settle((w) => w.reject(new LineTooLongError(this.maxLineOctets)));
        return;
      }
      const end = nl > 0 && this.buf[nl - 1] === CR ? nl - 1 : nl;
      const line = this.buf.toString('utf8', 0, end);
      this.buf = this.buf.subarray(nl + 1);
      this.settle((w) => w.resolve(line));
      return;
    }
    if (this.buf.length >= this.maxLineOctets) {
      this.buf = Buffer.alloc(0);
      this.settle((w) => w.reject(new LineTooLongError(this.maxLineOctets)));
      return;
    }
    if (this.ended || !this.stream) {
      this.settle((w) => w.resolve(null));
      return;
    }
    this.stream.resume();
  }
}

/**
 * RFC 1939 byte-stuffing across chunk boundaries: a line starting with "." gets another "." prepended.
 * `finish()` gives the terminator (with a CRLF first when the data did not end with a line break).
 *
 * A chunk without a line-leading dot is returned as it is (no copy). One with dots is stuffed into an output buffer the
 * stuffer keeps and refills on the next call (no allocation per chunk: a fresh multi-100-KiB Buffer per chunk costs
 * page faults and GC work that showed in RETR profiles): the caller must be done with a result before the next
 * `transform()` — sendMessage is, it waits for each write's callback.
 */
export class DotStuffer {
  private atLineStart = true;
  private out: Buffer = Buffer.alloc(0);

  /** `scan: false` for a message known to have no line that starts with "." (messages.dot_lines): chunks pass as they are. */
  constructor(private readonly scan = true) {}

  transform(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    if (!this.scan) {
      this.atLineStart = chunk[chunk.length - 1] === LF;
      return chunk;
    }
    const leading = this.atLineStart && chunk[0] === DOT;
    let i = indexOfLfDot(chunk);
    this.atLineStart = chunk[chunk.length - 1] === LF;
    if (i === -1 && !leading) return chunk;
    // worst case every line is a lone "."; grow to the chunk's size plus room for a dot in every 64 octets, then more
    // only when a pathological chunk needs it
    if (this.out.length < chunk.length + 1) this.out = Buffer.allocUnsafeSlow(chunk.length + (chunk.length >> 6) + 64);
    let w = 0;
    let start = 0;
    if (leading) this.out[w++] = DOT;
    while (i !== -1) {
      const need = w + (i + 1 - start) + 1 + (chunk.length - i - 1);
      if (need > this.out.length) this.grow(need + (chunk.length >> 6), w);
      w += chunk.copy(this.out, w, start, i + 1);
      this.out[w++] = DOT;
      start = i + 1;
      i = indexOfLfDot(chunk, start);
    }
    if (w + chunk.length - start > this.out.length) this.grow(w + chunk.length - start, w);
    w += chunk.copy(this.out, w, start);
    return this.out.subarray(0, w);
  }

  private grow(octets: number, keep: number): void {
    const bigger = Buffer.allocUnsafeSlow(octets);
    this.out.copy(bigger, 0, 0, keep);
    this.out = bigger;
  }

  finish(): Buffer {
    return Buffer.from(this.atLineStart ? '.\r\n' : '\r\n.\r\n');
  }
}

/**
 * TOP's cut: the header section, the blank line that ends it, and then `bodyLines` lines of the body.
 * `take()` returns the part of a chunk to send and whether the cut point was reached.
 */
export class TopLimiter {
  private inHeaders = true;
  private bodyLinesLeft: number;
  private lineLen = 0;
  private lineFirstIsCr = false;

  constructor(bodyLines: number) {
    this.bodyLinesLeft = bodyLines;
  }

  get done(): boolean {
    return !this.inHeaders && this.bodyLinesLeft <= 0;
  }

  take(chunk: Buffer): { out: Buffer; done: boolean } {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.done) return { out: chunk.subarray(0, pos), done: true };
      const nl = chunk.indexOf(LF, pos);
      const segEnd = nl === -1 ? chunk.length : nl;
      if (segEnd > pos) {
        if (this.lineLen === 0) this.lineFirstIsCr = chunk[pos] === CR;
        this.lineLen += segEnd - pos;
      }
      if (nl === -1) break;
      const blank = this.lineLen === 0 || (this.lineLen === 1 && this.lineFirstIsCr);
      if (this.inHeaders) {
        if (blank) this.inHeaders = false;
      } else {
        this.bodyLinesLeft--;
      }
      this.lineLen = 0;
      pos = nl + 1;
    }
    return { out: chunk, done: this.done };
  }
}

/**
 * A minimum transfer rate (POP3_RETR_MIN_BYTES_PER_SEC over each POP3_RETR_RATE_WINDOW_S): a download that moves
 * fewer octets than `minBytesPerSec × window` in any window — a client that stopped reading — is reported to
 * `onBreach` once. The first window is the grace period; `progress()` counts octets the socket has taken.
 */
export class MinRateGuard {
  private moved = 0;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(minBytesPerSec: number, windowMs: number, onBreach: (movedInWindow: number) => void) {
    if (minBytesPerSec <= 0) return;
    const needed = (minBytesPerSec * windowMs) / 1000;
    this.timer = setInterval(() => {
      if (this.moved < needed) {
        this.stop();
        onBreach(this.moved);
      }
      this.moved = 0;
    }, windowMs);
    this.timer.unref();
  }

  progress(octets: number): void {
    this.moved += octets;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
