import net from 'node:net';

const TERM = Buffer.from('\r\n.\r\n');

/** A lean POP3 client for load: counts multi-line octets without keeping them. */
export class BenchClient {
  private buf: Buffer = Buffer.alloc(0);
  private wait: (() => void) | undefined;
  private closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.wait?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wait?.();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<BenchClient> {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.setNoDelay(true);
    await new Promise<void>((res, rej) => {
      s.once('connect', () => res());
      s.once('error', rej);
    });
    const c = new BenchClient(s);
    await c.line();
    return c;
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

  /** Reads a multi-line body to its terminator; returns the octets received. */
  async drainBody(): Promise<number> {
    let total = 0;
    let tail: Buffer = Buffer.alloc(0);
    for (;;) {
      if (this.buf.length) {
        const joined = tail.length ? Buffer.concat([tail, this.buf]) : this.buf;
        const i = joined.indexOf(TERM);
        if (i >= 0 || (joined.length >= 3 && total === 0 && joined.subarray(0, 3).toString() === '.\r\n')) {
          const end = i >= 0 ? i + TERM.length : 3;
          total += end - tail.length;
          this.buf = joined.subarray(end);
          return total;
        }
        total += this.buf.length;
        tail = Buffer.from(joined.subarray(Math.max(0, joined.length - 4)));
        this.buf = Buffer.alloc(0);
      }
      await this.more();
    }
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
