import net from 'node:net';

/** A CRLF line protocol client for tests (POP3, LMTP): one command, one reply; multi-line SMTP replies joined. */
export class LineClient {
  private buf = '';
  private waiting: ((line: string) => void) | undefined;
  private readonly lines: string[] = [];

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\r\n')) >= 0) {
        this.lines.push(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 2);
      }
      this.flush();
    });
    sock.on('close', () => {
      this.lines.push('<closed>');
      this.flush();
    });
    sock.on('error', () => undefined);
  }

  static connect(port: number): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(new LineClient(s)));
      s.once('error', reject);
    });
  }

  private flush(): void {
    if (this.waiting && this.lines.length) {
      const w = this.waiting;
      this.waiting = undefined;
      w(this.lines.shift()!);
    }
  }

  line(timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reply line')), timeoutMs);
      this.waiting = (l) => (clearTimeout(timer), resolve(l));
      this.flush();
    });
  }

  /** Sends `line` and reads the reply; `multi` reads an SMTP multi-line reply up to its last (`250 `) line. */
  async cmd(line: string, multi = false): Promise<string> {
    this.sock.write(`${line}\r\n`);
    let reply = await this.line();
    while (multi && /^\d{3}-/.test(reply)) reply = await this.line();
    return reply;
  }

  destroy(): void {
    this.sock.destroy();
  }
}
