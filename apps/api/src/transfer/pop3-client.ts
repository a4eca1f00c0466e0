import net from 'node:net';
import tls from 'node:tls';
import { CrlfLineJoiner } from '@mailroom/core';

/** A POP3 server to copy from: `pop3s://host[:port]` (implicit TLS, 995) or `pop3://host[:port]` (STLS required, 110). */
export interface Pop3Source {
  host: string;
  port: number;
  implicitTls: boolean;
}

export function parsePop3Url(url: string): Pop3Source {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--from: expected pop3s://host[:port] or pop3://host[:port], got "${url}"`);
  }
  if (
    (u.protocol !== 'pop3s:' && u.protocol !== 'pop3:') ||
    !u.hostname ||
    u.username ||
    u.password ||
    (u.pathname && u.pathname !== '/') ||
    u.search
  ) {
    throw new Error(
      `--from: expected pop3s://host[:port] or pop3://host[:port] (credentials go in --user and --password-stdin), got "${url}"`,
    );
  }
  const implicitTls = u.protocol === 'pop3s:';
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : implicitTls ? 995 : 110, implicitTls };
}

export interface Pop3ClientTls {
  /** Accept any certificate (tests against a self-signed server). */
  insecure?: boolean;
  /** PEM CA certificates to trust instead of the system's. */
  ca?: string | Buffer;
}

const MAX_LINE_OCTETS = 8192;

/**
 * A small POP3 client (RFC 1939, STLS of RFC 2595) for copying a maildrop: never sends a password without TLS, reads
 * multi-line responses with dot-unstuffing and a size limit.
 */
export class Pop3Client {
  private socket: net.Socket;
  private buffered: Buffer[] = [];
  private bufferedOctets = 0;
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  private attach(socket: net.Socket): void {
    socket.on('data', (d: Buffer) => {
      this.buffered.push(d);
      this.bufferedOctets += d.length;
      this.wake();
    });
    socket.on('error', (err) => {
      this.failure ??= err;
      this.wake();
    });
    socket.on('close', () => {
      this.failure ??= new Error('POP3 server closed the connection');
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  static async connect(source: Pop3Source, opts: Pop3ClientTls & { timeoutMs?: number } = {}): Promise<Pop3Client> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const tlsOptions = {
      servername: net.isIP(source.host) ? undefined : source.host,
      rejectUnauthorized: !opts.insecure,
      ...(opts.ca ? { ca: opts.ca } : {}),
    };
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = source.implicitTls
        ? tls.connect({ host: source.host, port: source.port, ...tlsOptions }, () => resolve(s))
        : net.connect({ host: source.host, port: source.port }, () => resolve(s));
      s.once('error', reject);
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('POP3 server timed out')));
    const client = new Pop3Client(socket);
    await client.expectOk(await client.readLine(), 'greeting');
    if (!source.implicitTls) {
      await client.command('STLS');
      socket.removeAllListeners('data');
      const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
        const s = tls.connect({ socket, ...tlsOptions }, () => resolve(s));
        s.once('error', reject);
      });
      client.buffered = [];
      client.bufferedOctets = 0;
      client.socket = secure;
      client.attach(secure);
    }
    return client;
  }

  private take(n: number): Buffer {
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length ? [rest] : [];
    this.bufferedOctets = rest.length;
    return out;
  }

  /** The next line without its CRLF. */
  async readLine(maxOctets = MAX_LINE_OCTETS): Promise<Buffer> {
    let scanned = 0;
    for (;;) {
      const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
      this.buffered = all.length ? [all] : [];
      const lf = all.indexOf(0x0a, scanned);
      if (lf !== -1) {
        const line = this.take(lf + 1);
        return line.subarray(0, line.length - (line.length > 1 && line[line.length - 2] === 0x0d ? 2 : 1));
      }
      scanned = all.length;
      if (all.length > maxOctets) throw new Error('POP3 server sent an over-long line');
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => (this.waiter = r));
    }
  }

  private async expectOk(line: Buffer, what: string): Promise<string> {
    const text = line.toString('utf8');
    if (!text.startsWith('+OK')) throw new Error(`POP3 ${what} refused: ${text.slice(0, 200)}`);
    return text;
  }

  async command(cmd: string, what = cmd.split(' ')[0]!): Promise<string> {
    this.socket.write(`${cmd}\r\n`);
    return this.expectOk(await this.readLine(), what);
  }

  /** The lines of a multi-line response (after its +OK), dot-unstuffed, joined with CRLF; at most maxOctets. */
  async multiLine(maxOctets: number): Promise<Buffer> {
    const joined = new CrlfLineJoiner();
    for (;;) {
      const line = await this.readLine(maxOctets + MAX_LINE_OCTETS);
      if (line.length === 1 && line[0] === 0x2e) return joined.toBuffer();
      const body = line[0] === 0x2e ? line.subarray(1) : line;
      if (joined.octets + body.length > maxOctets) throw new Error(`a message on the POP3 server is larger than ${maxOctets} octets`);
      joined.push(body);
    }
  }

  async login(user: string, password: string): Promise<void> {
    if (!(this.socket instanceof tls.TLSSocket)) throw new Error('refusing to send a password without TLS');
    if (/[\r\n]/.test(user) || /[\r\n]/.test(password)) throw new Error('user and password cannot contain line breaks');
    await this.command(`USER ${user}`, 'USER');
    await this.command(`PASS ${password}`, 'PASS');
  }

  /** UIDL: message number → unique id. */
  async uidl(): Promise<{ n: number; uidl: string }[]> {
    await this.command('UIDL');
    const text = (await this.multiLine(64 * 1024 * 1024)).toString('latin1');
    return text
      .split('\r\n')
      .filter(Boolean)
      .map((l) => {
        const [n, id] = l.split(' ');
        return { n: Number(n), uidl: id ?? '' };
      })
      .filter((x) => Number.isInteger(x.n) && x.uidl);
  }

  async retr(n: number, maxOctets: number): Promise<Buffer> {
    await this.command(`RETR ${n}`, 'RETR');
    return this.multiLine(maxOctets);
  }

  async quit(): Promise<void> {
    try {
      await this.command('QUIT');
    } finally {
      this.socket.end();
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}
