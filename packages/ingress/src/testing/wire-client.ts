import net from 'node:net';

export interface Reply {
  code: number;
  lines: string[];
  /** The reply text of the last line without the code, e.g. `5.1.1 No such user here`. */
  text: string;
}

/** A message body as DATA sends it: dot-stuffed, with the terminating `.` line. */
export function dotStuff(raw: Buffer): Buffer {
  const stuffed = raw.toString('latin1').replace(/(^|\n)\./g, '$1..');
  const end = stuffed.endsWith('\r\n') ? '.\r\n' : '\r\n.\r\n';
  return Buffer.from(stuffed + end, 'latin1');
}

/**
 * A minimal SMTP/LMTP client over a raw socket, for tests and the benchmark that need exact control of the bytes on
 * the wire (pipelining, bare LF, aborted DATA) and to see every reply.
 */
export class WireClient {
  private buf = '';
  private pending: string[] = [];
  private replies: Reply[] = [];
  private waiters: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private ended: Error | null = null;
  greeting!: Reply;

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => this.onData(d));
    const end = (err?: Error) => {
      this.ended ??= err ?? new Error('connection closed');
      for (const w of this.waiters.splice(0)) w.reject(this.ended);
    };
    socket.on('error', end);
    socket.on('close', () => end());
  }

  static async connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<WireClient> {
    const socket = net.connect({ port, host, ...(localAddress ? { localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new WireClient(socket);
    c.greeting = await c.read();
    return c;
  }

  private onData(d: string) {
    this.buf += d;
    let i: number;
    while ((i = this.buf.indexOf('\r\n')) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      this.pending.push(line);
      if (/^\d{3}(?!-)/.test(line)) {
        const lines = this.pending.splice(0);
        const reply: Reply = { code: Number(line.slice(0, 3)), lines, text: line.slice(4) };
        const w = this.waiters.shift();
        if (w) w.resolve(reply);
        else this.replies.push(reply);
      }
    }
  }

  read(): Promise<Reply> {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  async command(line: string): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.read();
  }

  /** Sends a message body dot-stuffed with the terminating `.`; `raw` must use CRLF unless testing otherwise. */
  sendData(raw: Buffer): void {
    this.write(dotStuff(raw));
  }

  async quit(): Promise<void> {
    try {
      await this.command('QUIT');
    } catch {
      // already closed
    }
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Resolves once the server closed the connection. */
  closed(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }
}
