import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { readProxyHeader, type TrustedProxies } from '@mailroom/core';
import type { Logger } from '@mailroom/runtime';
import type { SMTPServer } from 'smtp-server';

/**
 * PROXY protocol (v1 and v2) in front of an smtp-server listener, from trusted load balancers only
 * (INGRESS_PROXY_TRUSTED, addresses and CIDR ranges). smtp-server's own `useProxy` reads v1 only and trusts exact
 * addresses, so the header is read here, before the library sees the socket: the accepted socket is taken from the
 * listener's 'connection' event, and a trusted one is handed to `server.connect()` with the client address the header
 * names (smtp-server's documented socket options `remoteAddress`/`remotePort`), which then is the session's
 * `remoteAddress` everywhere: per-address limits, logs, delivery log, Received field. A trusted peer that sends no valid
 * header in time is closed; an untrusted peer goes to smtp-server untouched, where a PROXY line is an unknown command.
 * Returns a function that closes the connections still waiting for their header (for shutdown).
 */
export function acceptProxyProtocol(
  server: SMTPServer,
  opts: { trusted: TrustedProxies; timeoutMs?: number; logger: Logger; onRefused: () => void },
): () => void {
  const net = server.server;
  const original = net.listeners('connection') as ((socket: Socket) => void)[];
  const waiting = new Set<Socket>();
  net.removeAllListeners('connection');
  net.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress;
    if (!opts.trusted.has(peer)) {
      for (const l of original) l.call(net, socket);
      return;
    }
    socket.on('error', () => undefined);
    waiting.add(socket);
    readProxyHeader(socket, { timeoutMs: opts.timeoutMs })
      .then(
        (h) => {
          const id = BigInt(`0x${randomBytes(10).toString('hex')}`).toString(32).padStart(16, '0');
          const client = h.command === 'PROXY' ? { remoteAddress: h.sourceAddress, remotePort: h.sourcePort } : {};
          if (socket.destroyed) return;
          server.connect(socket, { id, ...client });
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
