/**
 * The one place that touches smtp-server beyond its documented options and callbacks. smtp-server has no documented
 * way to (1) send a reply on a connection while its onData callback is still pending, which LMTP needs to answer each
 * recipient as soon as its copy is committed (RFC 2033), (2) send a reply whose text already carries its RFC 3463
 * enhanced status code without the library prefixing its generic one for that reply number, or (3) set TCP_NODELAY on
 * accepted sockets. So this module subclasses SMTPServer and relies on these internals (smtp-server 3.x), each pinned
 * by smtp-adapter.test.ts, which fails on an upgrade that changes them:
 *
 * - `SMTPServer#connect(socket, socketOptions)` is called once per accepted socket and adds the new SMTPConnection to
 *   the `connections` Set (so it is the last entry right after the call);
 * - an SMTPConnection has `id` (= `session.id` in every callback) and `send(code, data, context)`, which writes
 *   `code data` and, with `context === false`, adds no enhanced status code of its own;
 * - LMTP's onData callback given an empty array of replies writes nothing more;
 * - `SMTPServer#server` is the net.Server that listens, and the 'connection' listener its constructor registers takes
 *   each accepted socket to `connect()`; `connect(socket, { id, remoteAddress, remotePort })` makes those the
 *   session's (typed SMTPConnectionOptions) — what the PROXY protocol reader needs (pinned by proxy-protocol.test.ts);
 * - the DATA phase: a connection reads its socket through `_parser` (an SMTPStream, made by `_createParser()`, again
 *   after STARTTLS), which in data mode hands each chunk to `_feedDataStream(chunk, done)`, counts content with
 *   `_countDataBytes(n)` into the PassThrough `_dataStream` that `startDataMode()` returned, and goes back to command
 *   mode with `_endDataMode(false, rest, done)`. The library's own `_feedDataStream` visits every octet in JavaScript
 *   (it was the ingress's largest CPU cost for 1 MB messages) and keeps a single dot after a line break as content
 *   only if another dot follows; ours is {@link DataReader};
 * - the parser is a Writable whose `_write(chunk, encoding, next)` runs every command in a chunk of input (waiting for
 *   each handler) and calls `next` once it has used the chunk up; the connection's socket is `_socket`, replaced only
 *   by `upgrade()` (STARTTLS), which wraps the plaintext socket in a TLS one.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import type { PassThrough } from 'node:stream';
import { readProxyHeader, type TrustedProxies } from '@mailroom/core';
import type { Logger } from '@mailroom/runtime';
import { SMTPServer } from 'smtp-server';
import { DataReader } from './data-reader.ts';

/** The part of smtp-server's connection object the ingress uses. */
export interface ConnectionHandle {
  id: string;
  send(code: number, data?: string | string[], context?: string | false): void;
}

/** The parts of smtp-server's SMTPStream (the connection's input parser) that the DATA phase goes through. */
interface SmtpParser {
  _write(chunk: Buffer, encoding: BufferEncoding, next: (err?: Error | null) => void): void;
  startDataMode(maxBytes?: number): PassThrough;
  _feedDataStream(chunk: Buffer, done: (err?: Error) => void): void;
  _countDataBytes(octets: number): void;
  _endDataMode(chunk: Buffer | false, rest: Buffer, done: (err?: Error) => void): void;
  _dataStream: PassThrough | null;
}

interface ConnectionInternals {
  _parser: SmtpParser | false;
  _createParser(): SmtpParser;
  _socket: Socket;
  upgrade(...args: unknown[]): void;
}

/** Reads the DATA phase of `parser` with a {@link DataReader} (a new one for each message). */
export function useDataReader(parser: SmtpParser): SmtpParser {
  let reader = new DataReader();
  const startDataMode = parser.startDataMode.bind(parser);
  parser.startDataMode = (maxBytes) => {
    reader = new DataReader();
    return startDataMode(maxBytes);
  };
  parser._feedDataStream = (chunk, done) => {
    const stream = parser._dataStream!;
    const { pieces, rest } = reader.feed(chunk);
    let flowing = true;
    for (const piece of pieces) {
      parser._countDataBytes(piece.length);
      if (stream.writable) flowing = stream.write(piece) && flowing;
    }
    if (rest) return parser._endDataMode(false, rest, done);
    if (flowing || stream.destroyed || !stream.writable) return done();
    // the message's reader is behind: read no more from the socket until it drains (or is gone)
    const resume = () => {
      stream.off('drain', resume);
      stream.off('close', resume);
      done();
    };
    stream.once('drain', resume);
    stream.once('close', resume);
  };
  return parser;
}

/**
 * Replies to pipelined commands leave in one write (RFC 2920 §3: a server may hold replies while it has pipelined
 * commands to read, and must send them once its input is used up, as Postfix does): the socket is corked while the
 * parser works through a chunk of input, handlers included, and uncorked when it asks for the next one. A client that
 * sends MAIL, RCPT and DATA together gets their three replies in one segment: one send and one wakeup instead of three
 * on each side. Commands sent one at a time are answered as before, the moment their handler replies. The end of the
 * message data writes out what is held: from there the parser waits for the onData callback, and LMTP's per-recipient
 * replies, sent as each copy commits, must not wait with it.
 */
function coalesceReplies(parser: SmtpParser, socketOf: () => Socket): SmtpParser {
  const write = parser._write.bind(parser);
  parser._write = (chunk, encoding, next) => {
    const socket = socketOf();
    socket.cork();
    let corked = true;
    const release = () => {
      if (corked) {
        corked = false;
        socket.uncork();
      }
    };
    try {
      write(chunk, encoding, (err) => {
        release();
        next(err);
      });
    } catch (err) {
      release();
      throw err;
    }
  };
  const endDataMode = parser._endDataMode.bind(parser);
  parser._endDataMode = (chunk, rest, done) => {
    flushReplies(socketOf());
    endDataMode(chunk, rest, done);
  };
  return parser;
}

/** Writes out whatever {@link coalesceReplies} holds on `socket` now. */
function flushReplies(socket: Socket): void {
  while (socket.writableCorked > 0) socket.uncork();
}

/** A reply text that starts with an RFC 3463 enhanced status code (ours always do). */
const ENHANCED_STATUS = /^[245]\.\d{1,3}\.\d{1,3} /;

/**
 * smtp-server with two adjustments: replies whose text already starts with an RFC 3463 code (ours) go out without the
 * library's generic code for that reply number, and each connection is reachable by session id, so LMTP can answer
 * every recipient as soon as its copy is committed.
 */
export class IngressSmtpServer extends SMTPServer {
  private readonly handles = new Map<string, ConnectionHandle>();

  override connect(...args: Parameters<SMTPServer['connect']>): void {
    // replies are small writes the client waits for: do not let Nagle hold them back for the peer's delayed ACK
    args[0].setNoDelay(true);
    super.connect(...args);
    let last: unknown;
    for (const c of this.connections) last = c;
    const conn = last as ConnectionHandle | undefined;
    if (!conn || this.handles.has(conn.id)) return;
    const internals = conn as unknown as ConnectionInternals;
    const prepare = (parser: SmtpParser) => coalesceReplies(useDataReader(parser), () => internals._socket);
    if (internals._parser) prepare(internals._parser);
    const createParser = internals._createParser.bind(conn);
    internals._createParser = () => prepare(createParser());
    // STARTTLS: its 220 must reach the client before the plaintext socket is wrapped in the TLS one
    const upgrade = internals.upgrade.bind(conn);
    internals.upgrade = (...a) => {
      flushReplies(internals._socket);
      upgrade(...a);
    };
    const send = conn.send.bind(conn);
    conn.send = (code, data, context) =>
      typeof data === 'string' && ENHANCED_STATUS.test(data) ? send(code, data, false) : send(code, data, context);
    this.handles.set(conn.id, conn);
  }

  /** The connection of a session (by `session.id`) while it is open; forget it in onClose with {@link forget}. */
  handle(sessionId: string): ConnectionHandle | undefined {
    return this.handles.get(sessionId);
  }

  forget(sessionId: string): void {
    this.handles.delete(sessionId);
  }

  /** Binds the listener; resolves with the bound port. */
  listenOn(port: number, host: string): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Where the listener is bound (null before listenOn). */
  boundAddress(): AddressInfo | null {
    return this.server.address() as AddressInfo | null;
  }

  /**
   * PROXY protocol (v1 and v2) from trusted load balancers only (INGRESS_PROXY_TRUSTED: addresses and CIDR ranges).
   * smtp-server's own `useProxy` reads v1 only and trusts exact addresses, so the header is read here, before the
   * library sees the socket: the listener's 'connection' event is taken over, and a trusted socket is handed to
   * `connect()` with the client its header names, which then is the session's `remoteAddress` everywhere (per-address
   * limits, logs, delivery log, Received field). A trusted peer without a valid header in time is closed; an untrusted
   * one goes to smtp-server untouched, where a PROXY line is an unknown command. Returns a function that closes the
   * connections still waiting for their header (for shutdown).
   */
  acceptProxyProtocol(opts: {
    trusted: TrustedProxies;
    timeoutMs?: number | undefined;
    logger: Logger;
    onRefused: () => void;
  }): () => void {
    const listener = this.server;
    const original = listener.listeners('connection') as ((socket: Socket) => void)[];
    const waiting = new Set<Socket>();
    listener.removeAllListeners('connection');
    listener.on('connection', (socket: Socket) => {
      const peer = socket.remoteAddress;
      if (!opts.trusted.has(peer)) {
        for (const l of original) l.call(listener, socket);
        return;
      }
      socket.on('error', () => undefined);
      waiting.add(socket);
      readProxyHeader(socket, { timeoutMs: opts.timeoutMs })
        .then(
          (h) => {
            if (socket.destroyed) return;
            const id = BigInt(`0x${randomBytes(10).toString('hex')}`)
              .toString(32)
              .padStart(16, '0');
            this.connect(socket, { id, ...(h.command === 'PROXY' ? { remoteAddress: h.sourceAddress, remotePort: h.sourcePort } : {}) });
          },
          (err: Error) => {
            opts.onRefused();
            opts.logger.info({ proxy: peer, err: err.message }, 'connection from a trusted proxy closed: no valid PROXY header');
            socket.destroy();
          },
        )
        .finally(() => waiting.delete(socket));
    });
    return () => {
      for (const s of waiting) s.destroy();
    };
  }

  /** Stops accepting and lets open sessions finish (up to the closeTimeout option). */
  shutdown(): Promise<void> {
    return new Promise<void>((resolve) => this.close(() => resolve()));
  }
}
