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
 * - `SMTPServer#server` is the net.Server that listens.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** The part of smtp-server's connection object the ingress uses. */
export interface ConnectionHandle {
  id: string;
  send(code: number, data?: string | string[], context?: string | false): void;
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
    const send = conn.send.bind(conn);
    conn.send = (code, data, context) => (typeof data === 'string' && ENHANCED_STATUS.test(data) ? send(code, data, false) : send(code, data, context));
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

  /** Stops accepting and lets open sessions finish (up to the closeTimeout option). */
  shutdown(): Promise<void> {
    return new Promise<void>((resolve) => this.close(() => resolve()));
  }
}
