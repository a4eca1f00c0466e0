import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Logger } from '@mailroom/runtime';
import type { Pop3Config } from './config.ts';
import { LineReader, LineTooLongError } from './framing.ts';
import type { Pop3Metrics } from './metrics.ts';
import { SessionClosedError } from './session-closed-error.ts';
import type { LeaseOwner, Maildrop, MaildropStore, MessageInfo } from './store.ts';
import { AUTHORIZATION_COMMANDS, TRANSACTION_COMMANDS, type CommandTable } from './commands.ts';

export type SessionState = 'AUTHORIZATION' | 'TRANSACTION' | 'UPDATE' | 'CLOSED';

/** What every session of one server shares. */
export interface SessionContext {
  store: MaildropStore;
  config: Pop3Config;
  logger: Logger;
  metrics: Pop3Metrics;
  /** This process's lease holder name. */
  holder: string;
  secureContext: tls.SecureContext;
  /** Waits before answering a throttled login attempt (injectable so tests need not wait). */
  sleep: (ms: number) => Promise<void>;
  /**
   * Leases whose release failed when their session ended (session token → maildrop id): no longer renewed, and the
   * server retries their release, so they expire or go as soon as the database answers again.
   */
  abandonedLeases: Map<string, string>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export function isLoopback(ip: string): boolean {
  return LOOPBACK.test(ip);
}

/**
 * One POP3 connection: the read loop (one command at a time, reply written before the next line is read),
 * the state, the snapshot of the maildrop, and the STLS upgrade. Command handlers live in per-state tables.
 */
export class Pop3Session {
  state: SessionState = 'AUTHORIZATION';
  secure: boolean;
  /** Login given by USER, waiting for PASS. */
  pendingUser: string | undefined;
  maildrop: Maildrop | undefined;
  /** The snapshot taken at login; message n is messages[n - 1] for the whole session. */
  messages: MessageInfo[] = [];
  readonly deleted = new Set<number>();
  /** Messages sent whole by RETR (EXPIRE 0 deletes them at QUIT). */
  readonly retrieved = new Set<number>();
  badCommands = 0;
  authFailures = 0;
  readonly log: Logger;
  private stream: Socket | tls.TLSSocket;
  private readonly reader: LineReader;
  private shuttingDown = false;
  private locked = false;
  private loggedIn = false;
  private closed = false;
  private readonly done: Promise<void>;
  /** Absolute limit from connect to login (POP3_AUTH_DEADLINE_S): commands do not extend it. */
  private authDeadline: NodeJS.Timeout | undefined;
  /** This session's own token in the maildrop lease: only it can release the lease or commit deletions under it. */
  readonly lease: LeaseOwner;

  constructor(
    readonly ctx: SessionContext,
    socket: Socket | tls.TLSSocket,
    readonly id: string,
    readonly ip: string,
    secure: boolean,
  ) {
    this.stream = socket;
    this.secure = secure;
    this.log = ctx.logger.child({ conn: id });
    this.reader = new LineReader(ctx.config.maxLineOctets);
    this.lease = { holder: ctx.holder, session: randomBytes(16).toString('base64url') };
    this.authDeadline = setTimeout(() => this.onAuthDeadline(), ctx.config.authDeadlineMs);
    this.authDeadline.unref();
    this.attachStream(socket);
    this.done = this.run().catch((err) => this.log.error({ err }, 'session failed'));
  }

  /** Resolves when the session has ended and released everything it held. */
  finished(): Promise<void> {
    return this.done;
  }

  get plaintextAuthAllowed(): boolean {
    return this.secure || this.ctx.config.allowPlaintextAuth || isLoopback(this.ip);
  }

  private attachStream(s: Socket | tls.TLSSocket) {
    this.stream = s;
    s.setNoDelay(true);
    s.on('error', (err) => this.log.debug({ err: err.message }, 'socket error'));
    s.on('timeout', () => this.onIdleTimeout());
    this.setIdleTimeout();
    this.reader.attach(s);
  }

  private setIdleTimeout() {
    this.stream.setTimeout(this.state === 'TRANSACTION' ? this.ctx.config.idleTimeoutMs : this.ctx.config.authTimeoutMs);
  }

  private onIdleTimeout() {
    this.log.info({ state: this.state }, 'idle timeout');
    if (this.reader.waiting) this.stream.write('-ERR Disconnected for inactivity.\r\n');
    this.destroy();
  }

  private onAuthDeadline() {
    this.authDeadline = undefined;
    if (this.loggedIn || this.closed) return;
    this.log.info({ deadlineMs: this.ctx.config.authDeadlineMs }, 'not logged in before the authentication deadline');
    if (this.reader.waiting) this.stream.write('-ERR Authentication deadline exceeded, disconnecting.\r\n');
    this.destroy();
  }

  private clearAuthDeadline() {
    if (this.authDeadline) clearTimeout(this.authDeadline);
    this.authDeadline = undefined;
  }

  /** Graceful shutdown of the server: an idle session is told and closed now, a busy one after its command. */
  shutdown(): void {
    if (this.shuttingDown || this.closed) return;
    this.shuttingDown = true;
    if (this.reader.waiting) {
      this.stream.write('-ERR [SYS/TEMP] Server shutting down.\r\n');
      this.endSoon();
    }
  }

  /** Cuts the connection now (shutdown grace expired). */
  destroy(): void {
    this.stream.destroy();
  }

  private endSoon() {
    this.stream.end();
    setTimeout(() => this.stream.destroy(), 2000).unref();
  }

  /** Writes octets, waiting for the socket to drain when its buffer is full. */
  write(data: Buffer | string): Promise<void> {
    const s = this.stream;
    if (s.destroyed || !s.writable) return Promise.reject(new SessionClosedError());
    if (s.write(data)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        s.off('drain', onDrain);
        s.off('close', onClose);
      };
      const onDrain = () => {
        cleanup();
        resolve();
      };
      const onClose = () => {
        cleanup();
        reject(new SessionClosedError());
      };
      s.on('drain', onDrain);
      s.on('close', onClose);
    });
  }

  /**
   * Writes octets and resolves once the socket is done with them (its write callback ran: handed to the kernel, or to
   * OpenSSL under TLS), so the caller may refill that memory. The wait is also the backpressure.
   */
  writeThrough(data: Buffer): Promise<void> {
    const s = this.stream;
    if (s.destroyed || !s.writable) return Promise.reject(new SessionClosedError());
    return new Promise((resolve, reject) => {
      s.write(data, (err) => (err ? reject(new SessionClosedError()) : resolve()));
    });
  }

  reply(line: string): Promise<void> {
    return this.write(`${line}\r\n`);
  }

  /** A multi-line response: status line, lines (dot-stuffed), terminator. */
  replyMulti(status: string, lines: string[]): Promise<void> {
    const body = lines.map((l) => (l.startsWith('.') ? `.${l}` : l));
    return this.write(`${status}\r\n${body.length ? `${body.join('\r\n')}\r\n` : ''}.\r\n`);
  }

  /** Reads one more line inside a command (SASL continuation). */
  readLine(): Promise<string | null> {
    return this.reader.nextLine();
  }

  /** Counts a bad command; replies and reports whether the session may continue. */
  async badCommand(message: string): Promise<void> {
    this.badCommands++;
    if (this.badCommands >= this.ctx.config.maxBadCommands) {
      await this.reply('-ERR Too many bad commands.');
      this.log.info({ badCommands: this.badCommands }, 'too many bad commands');
      this.close();
      return;
    }
    await this.reply(message);
  }

  /** Ends the session after the current reply. */
  close(): void {
    this.state = 'CLOSED';
  }

  /** Locks the maildrop for this session; the session releases it when it ends. */
  markLocked(): void {
    this.locked = true;
  }

  /** Gives the maildrop's lock back (QUIT does it before its reply, so an immediate reconnect is not refused). */
  async releaseMaildrop(): Promise<void> {
    if (!this.locked || !this.maildrop) return;
    this.locked = false;
    const id = this.maildrop.id;
    await this.ctx.store.releaseLock(id, this.lease.session).catch((err) => {
      this.log.warn({ err }, 'lease release failed: retried later, else it expires');
      this.ctx.abandonedLeases.set(this.lease.session, id);
    });
  }

  enterTransaction(maildrop: Maildrop, messages: MessageInfo[]): void {
    this.maildrop = maildrop;
    this.messages = messages;
    this.state = 'TRANSACTION';
    this.loggedIn = true;
    this.clearAuthDeadline();
    this.ctx.metrics.sessionsLoggedIn.inc();
    this.setIdleTimeout();
  }

  /**
   * STLS: the +OK is written, buffered plaintext is discarded, then the TLS handshake runs on the same socket. Whatever
   * the client said in plaintext is forgotten too (a USER waiting for its PASS), as RFC 3207 §4.2 asks of SMTP servers:
   * a man in the middle could have said it.
   */
  async startTls(): Promise<void> {
    const plain = this.stream as Socket;
    const discarded = this.reader.detach();
    if (discarded > 0) this.log.warn({ octets: discarded }, 'discarded plaintext pipelined after STLS');
    this.pendingUser = undefined;
    plain.setTimeout(0);
    plain.removeAllListeners('timeout');
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: this.ctx.secureContext });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('TLS handshake timed out')), this.ctx.config.authTimeoutMs);
      secure.once('secure', () => {
        clearTimeout(timer);
        resolve();
      });
      secure.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      secure.once('close', () => {
        clearTimeout(timer);
        reject(new SessionClosedError());
      });
    });
    this.secure = true;
    this.attachStream(secure);
  }

  private async run(): Promise<void> {
    try {
      await this.reply(`+OK ${this.ctx.config.implementation} ready.`);
      while (this.state !== 'CLOSED') {
        if (this.shuttingDown) {
          await this.reply('-ERR [SYS/TEMP] Server shutting down.');
          break;
        }
        try {
          const line = await this.reader.nextLine();
          if (line === null) break;
          if (this.shuttingDown) {
            await this.reply('-ERR [SYS/TEMP] Server shutting down.');
            break;
          }
          await this.dispatch(line);
        } catch (err) {
          // also raised inside a command that reads more (an AUTH continuation)
          if (err instanceof LineTooLongError) {
            this.log.info({ limit: err.limit }, 'line too long');
            await this.reply('-ERR Line too long.');
            break;
          }
          throw err;
        }
      }
      if (!this.stream.destroyed) this.endSoon();
    } catch (err) {
      if (!(err instanceof SessionClosedError)) this.log.error({ err }, 'session error');
      this.stream.destroy();
    } finally {
      await this.cleanup();
    }
  }

  private async dispatch(line: string): Promise<void> {
    const sp = line.indexOf(' ');
    const name = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const args = sp < 0 ? '' : line.slice(sp + 1);
    const table: CommandTable = this.state === 'TRANSACTION' ? TRANSACTION_COMMANDS : AUTHORIZATION_COMMANDS;
    const handler = Object.hasOwn(table, name) ? table[name] : undefined;
    if (!handler) {
      const other = this.state === 'TRANSACTION' ? AUTHORIZATION_COMMANDS : TRANSACTION_COMMANDS;
      this.ctx.metrics.commands.inc({ command: 'unknown' });
      this.log.debug({ command: name.slice(0, 16) }, 'bad command');
      await this.badCommand(Object.hasOwn(other, name) ? '-ERR Command not allowed in this state.' : '-ERR Unknown command.');
      return;
    }
    this.ctx.metrics.commands.inc({ command: name });
    this.log.debug({ command: name }, 'command');
    await handler(this, args);
  }

  private async cleanup(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearAuthDeadline();
    if (this.loggedIn) this.ctx.metrics.sessionsLoggedIn.dec();
    this.state = 'CLOSED';
    await this.releaseMaildrop();
    this.log.debug('closed');
  }
}
