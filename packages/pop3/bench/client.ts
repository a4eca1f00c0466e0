import net from 'node:net';

const TERM = Buffer.from('\r\n.\r\n');
/** The socket reads into this one buffer (net's `onread`): a download allocates nothing per read. */
const READ_BUFFER_OCTETS = 1024 * 1024;

/**
 * A lean POP3 client for load: counts multi-line octets without keeping them. A multi-line body is read straight from
 * the socket's reused read buffer and only searched for its terminator (no copy, no allocation per read), so on a
 * 2-core machine the client leaves as much CPU as it can to the server it measures (the same client drives Dovecot in
 * `npm run bench -- dovecot`).
 */
export class BenchClient {
  private buf: Buffer = Buffer.alloc(0);
  private wait: (() => void) | undefined;
  private closed = false;
  /** Set while a body is being drained: octets so far and the last four (for a terminator split across reads). */
  private draining: { total: number; tail: Buffer; done: (total: number) => void } | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on('close', () => {
      this.closed = true;
      this.wait?.();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<BenchClient> {
    const reader: { client?: BenchClient } = {};
    const s = net.connect({
      port,
      host: '127.0.0.1',
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER_OCTETS),
        callback: (n: number, b: Uint8Array) => {
          reader.client!.onRead(Buffer.from(b.buffer, b.byteOffset, n));
          return true;
        },
      },
    });
    const client = new BenchClient(s);
    reader.client = client;
    s.setNoDelay(true);
    await new Promise<void>((res, rej) => {
      s.once('connect', () => res());
      s.once('error', rej);
    });
    await client.line();
    return client;
  }

  private onRead(chunk: Buffer): void {
    if (this.draining) this.drainChunk(chunk);
    else this.buf = Buffer.concat([this.buf, chunk]);
    this.wait?.();
  }

  /** Counts a chunk of a body; at the terminator, ends the drain and keeps what follows (copied) as input. */
  private drainChunk(chunk: Buffer): void {
    const d = this.draining!;
    // the terminator may straddle the previous read and this one
    const edge = Buffer.concat([d.tail, chunk.subarray(0, TERM.length - 1)]);
    let end = -1;
    const atEdge = edge.indexOf(TERM);
    if (atEdge >= 0) end = atEdge + TERM.length - d.tail.length;
    else {
      const inside = chunk.indexOf(TERM);
      if (inside >= 0) end = inside + TERM.length;
    }
    if (end < 0) {
      d.total += chunk.length;
      d.tail = Buffer.from(chunk.length >= 4 ? chunk.subarray(chunk.length - 4) : Buffer.concat([d.tail, chunk]).subarray(-4));
      return;
    }
    d.total += end;
    this.draining = undefined;
    this.buf = Buffer.from(chunk.subarray(end));
    d.done(d.total);
  }

  private async more(): Promise<void> {
    if (this.closed) throw new Error('connection closed');
    await new Promise<void>((r) => (this.wait = r));
    this.wait = undefined;
  }

  async line(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.buf.toString('latin1', 0, i);
        this.buf = this.buf.subarray(i + 2);
        return l;
      }
      await this.more();
    }
  }

  async cmd(c: string): Promise<string> {
    this.socket.write(`${c}\r\n`);
    return this.line();
  }

  /** Reads a multi-line body to its terminator; returns the octets received (terminator included). */
  async drainBody(): Promise<number> {
    const pending = this.buf;
    this.buf = Buffer.alloc(0);
    // the body starts a line: a virtual CRLF before it lets a lone "." line (an empty body) end it at once
    const done = new Promise<number>((resolve) => (this.draining = { total: 0, tail: Buffer.from('\r\n'), done: resolve }));
    if (pending.length) this.drainChunk(pending);
    while (this.draining) await this.more();
    return done;
  }

  async login(user: string, pass: string): Promise<string> {
    await this.cmd(`USER ${user}`);
    return this.cmd(`PASS ${pass}`);
  }

  async quit(): Promise<void> {
    await this.cmd('QUIT').catch(() => undefined);
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
