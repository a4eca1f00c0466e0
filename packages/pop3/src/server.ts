import net from 'node:net';
import tls from 'node:tls';
import { networkKey, readProxyHeader } from '@mailroom/core';
import { createOpsServer, type Logger } from '@mailroom/runtime';
import type { Pop3Config } from './config.ts';
import { createHolderName, isDeadLocalHolder, localHolderScope, registerRunningHolder } from './lease-holder.ts';
import { createPop3Metrics, type Pop3Metrics } from './metrics.ts';
import { Pop3Session, type SessionContext } from './session.ts';
import type { MaildropStore } from './store.ts';

export interface Pop3ServerDeps {
  store: MaildropStore;
  config: Pop3Config;
  logger: Logger;
  tls: { cert: Buffer | string; key: Buffer | string };
  metrics?: Pop3Metrics;
  /** Waits before answering a throttled login (defaults to a real timer; tests inject one that does not wait). */
  sleep?: (ms: number) => Promise<void>;
  /** Lease holder name of this server (defaults to createHolderName(): host, boot id, pid namespace, pid, nonce). */
  holder?: string;
}

export interface BoundPorts {
  pop3: number;
  pop3s: number | null;
  metrics: number | null;
}

export interface Pop3Server {
  listen(): Promise<BoundPorts>;
  close(): Promise<void>;
  readonly ports: BoundPorts;
  readonly metrics: Pop3Metrics;
  readonly holder: string;
  /** Open connections, those still in their TLS handshake included (for tests and health). */
  readonly connectionCount: number;
}

function listenOn(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
}

/** Builds the POP3 service (plain port with STLS, implicit-TLS port, health/metrics HTTP). Nothing listens until listen(). */
export function createPop3Server(deps: Pop3ServerDeps): Pop3Server {
  const { store, config, logger } = deps;
  const metrics = deps.metrics ?? createPop3Metrics();
  const holder = deps.holder ?? createHolderName();
  const secureContext = tls.createSecureContext({ cert: deps.tls.cert, key: deps.tls.key, minVersion: 'TLSv1.2' });
  const ctx: SessionContext = {
    store,
    config,
    logger,
    metrics,
    holder,
    secureContext,
    sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    abandonedLeases: new Map(),
  };
  const sessions = new Set<Pop3Session>();
  /** Open sessions per client network (networkKey under POP3_IPV4_PREFIX / POP3_IPV6_PREFIX). */
  const perNetwork = new Map<string, number>();
  const networkOf = (ip: string) => networkKey(ip, config.networkPrefixes);
  let nextConn = 0;
  let closing = false;
  let renewTimer: NodeJS.Timeout | undefined;
  let unregisterHolder: (() => void) | undefined;
  /** A restarted process takes back at once what its crashed predecessor on this machine held (see lease-holder.ts). */
  const reclaimDeadLeases = async () => {
    try {
      for (const dead of (await store.lockHolders(localHolderScope().prefix)).filter((h) => isDeadLocalHolder(h))) {
        await store.releaseAllLocks(dead);
        logger.info({ holder: dead }, 'released the leases of a dead POP3 process of this machine');
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not check for dead lease holders (their leases lapse instead)');
    }
  };
  const ports: BoundPorts = { pop3: 0, pop3s: null, metrics: null };

  // Implicit-TLS connections still in their handshake (raw sockets → their client network) have no session yet: they
  // count against the connection limits too, and shutdown drops them instead of waiting for their handshake timeout.
  const handshaking = new Map<net.Socket, { network: string; ip: string; proxy: string | undefined }>();
  /** Connections from trusted load balancers whose PROXY header has not arrived yet (they count against the total). */
  const awaitingHeader = new Set<net.Socket>();

  /** Which connection limit one more connection from `network` would break, if any (sessions and handshakes counted). */
  function overLimit(network: string): 'max_connections' | 'max_connections_per_ip' | undefined {
    if (sessions.size + handshaking.size + awaitingHeader.size >= config.maxConnections) return 'max_connections';
    let fromNetwork = perNetwork.get(network) ?? 0;
    for (const h of handshaking.values()) if (h.network === network) fromNetwork++;
    return fromNetwork >= config.maxConnectionsPerIp ? 'max_connections_per_ip' : undefined;
  }

  /**
   * The client behind a connection: its peer, or — when the peer is a trusted load balancer (POP3_PROXY_TRUSTED) — the
   * address its PROXY header names (a v2 LOCAL / v1 UNKNOWN header keeps the peer's). A trusted peer must send the header
   * first (within proxyHeaderTimeoutMs); a missing, late, malformed or oversized one closes the connection (undefined).
   * An untrusted peer's PROXY header is never read: it reaches the protocol as a bad command (or breaks its TLS handshake).
   */
  async function clientOf(raw: net.Socket, port: 'pop3' | 'pop3s'): Promise<{ ip: string; proxy?: string } | undefined> {
    const peer = raw.remoteAddress ?? 'unknown';
    if (!config.proxyTrusted?.has(peer)) return { ip: peer };
    awaitingHeader.add(raw);
    try {
      const h = await readProxyHeader(raw, { timeoutMs: config.proxyHeaderTimeoutMs });
      return { ip: h.command === 'PROXY' ? h.sourceAddress : peer, proxy: peer };
    } catch (err) {
      metrics.connectionsRejected.inc({ reason: 'proxy_header' });
      logger.info({ proxy: peer, port, err: (err as Error).message }, 'connection from a trusted proxy closed: no valid PROXY header');
      raw.destroy();
      return undefined;
    } finally {
      awaitingHeader.delete(raw);
    }
  }

  /** Refuses (closes) a connection when even the total limit is reached, before anything is read from it. */
  function fullBeforeHeader(raw: net.Socket, port: 'pop3' | 'pop3s'): boolean {
    if (!closing && sessions.size + handshaking.size + awaitingHeader.size < config.maxConnections) return false;
    if (!closing) {
      metrics.connectionsRejected.inc({ reason: 'max_connections' });
      logger.warn({ ip: raw.remoteAddress, reason: 'max_connections', port }, 'connection refused by limit before its PROXY header');
    }
    raw.destroy();
    return true;
  }

  async function onPlainConnection(raw: net.Socket) {
    raw.on('error', () => undefined);
    if (!config.proxyTrusted?.has(raw.remoteAddress)) return accept(raw, false, 'pop3', raw.remoteAddress ?? 'unknown');
    if (fullBeforeHeader(raw, 'pop3')) return;
    const client = await clientOf(raw, 'pop3');
    if (client) accept(raw, false, 'pop3', client.ip, client.proxy);
  }

  function accept(socket: net.Socket, secure: boolean, port: 'pop3' | 'pop3s', ip: string, proxy?: string) {
    const id = `${Date.now().toString(36)}-${(nextConn++).toString(36)}`;
    socket.on('error', () => undefined);
    if (closing) {
      socket.end('-ERR [SYS/TEMP] Server shutting down.\r\n');
      return;
    }
    const network = networkOf(ip);
    const reason = overLimit(network);
    if (reason) {
      metrics.connectionsRejected.inc({ reason });
      logger.warn({ conn: id, ip, proxy, network, reason }, 'connection refused by limit');
      socket.end('-ERR [SYS/TEMP] Too many connections, try again later.\r\n');
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    perNetwork.set(network, (perNetwork.get(network) ?? 0) + 1);
    metrics.connectionsTotal.inc({ port });
    metrics.connectionsActive.inc();
    logger.debug({ conn: id, ip, proxy, port }, 'connected');
    const session = new Pop3Session(ctx, socket, id, ip, secure);
    sessions.add(session);
    void session.finished().then(() => {
      sessions.delete(session);
      const n = (perNetwork.get(network) ?? 1) - 1;
      if (n <= 0) perNetwork.delete(network);
      else perNetwork.set(network, n);
      metrics.connectionsActive.dec();
    });
  }

  const plainServer = net.createServer({ pauseOnConnect: false }, (raw) => void onPlainConnection(raw));
  // The implicit-TLS port accepts plain TCP first (a load balancer's PROXY header precedes the TLS handshake), then hands
  // the connection to the TLS server (which never listens itself) by emitting 'connection'.
  const tlsServer = tls.createServer(
    { cert: deps.tls.cert, key: deps.tls.key, minVersion: 'TLSv1.2', handshakeTimeout: config.authTimeoutMs },
    (socket) => {
      for (const [raw, h] of handshaking) {
        if (raw.remotePort === socket.remotePort && raw.remoteAddress === socket.remoteAddress) {
          handshaking.delete(raw);
          accept(socket, true, 'pop3s', h.ip, h.proxy);
          return;
        }
      }
      socket.destroy();
    },
  );
  tlsServer.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'TLS handshake failed'));
  const tlsFront = net.createServer({ pauseOnConnect: false }, (raw) => void onTlsConnection(raw));

  async function onTlsConnection(raw: net.Socket) {
    raw.on('error', () => undefined);
    if (config.proxyTrusted?.has(raw.remoteAddress) && fullBeforeHeader(raw, 'pop3s')) return;
    const client = await clientOf(raw, 'pop3s');
    if (!client) return;
    const network = networkOf(client.ip);
    const reason = closing ? undefined : overLimit(network);
    if (closing || reason || raw.destroyed) {
      if (reason) {
        metrics.connectionsRejected.inc({ reason });
        logger.warn({ ip: client.ip, proxy: client.proxy, reason, port: 'pop3s' }, 'connection refused by limit before its TLS handshake');
      }
      raw.destroy();
      return;
    }
    handshaking.set(raw, { network, ip: client.ip, proxy: client.proxy });
    raw.once('close', () => handshaking.delete(raw));
    tlsServer.emit('connection', raw);
  }

  let ready = false;
  const ops =
    config.metricsPort === null
      ? null
      : createOpsServer({
          host: config.metricsHost,
          port: config.metricsPort,
          ready: async () => {
            await store.ping();
            return ready && !closing;
          },
          metrics: metrics.registry,
        });

  return {
    ports,
    metrics,
    holder,
    get connectionCount() {
      return sessions.size + handshaking.size;
    },
    async listen() {
      unregisterHolder = registerRunningHolder(holder);
      await reclaimDeadLeases();
      ports.pop3 = await listenOn(plainServer, config.port, config.host);
      if (config.tlsPort !== null) ports.pop3s = await listenOn(tlsFront, config.tlsPort, config.host);
      if (ops) ports.metrics = await ops.listen();
      renewTimer = setInterval(
        () => {
          const abandoned = ctx.abandonedLeases;
          store
            .renewLocks(holder, config.leaseTtlMs, [...abandoned.keys()])
            .catch((err) => logger.warn({ err: (err as Error).message }, 'lease renewal failed'));
          // leases whose release failed: retry, so they go as soon as the database answers (else they expire)
          for (const [session, maildropId] of abandoned) {
            store.releaseLock(maildropId, session).then(
              () => abandoned.delete(session),
              () => undefined,
            );
          }
        },
        Math.max(250, Math.floor(config.leaseTtlMs / 3)),
      );
      renewTimer.unref();
      ready = true;
      return { ...ports };
    },
    async close() {
      if (closing) return;
      closing = true;
      ready = false;
      const stopped = Promise.all([closeServer(plainServer), closeServer(tlsFront)]);
      for (const raw of handshaking.keys()) raw.destroy();
      for (const raw of awaitingHeader) raw.destroy();
      for (const s of sessions) s.shutdown();
      const all = Promise.all([...sessions].map((s) => s.finished()));
      const grace = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), config.shutdownGraceMs).unref());
      if ((await Promise.race([all, grace])) === 'timeout') {
        logger.warn({ sessions: sessions.size }, 'shutdown grace expired: closing remaining connections');
        for (const s of sessions) s.destroy();
        await all;
      }
      await stopped;
      if (renewTimer) clearInterval(renewTimer);
      await store.releaseAllLocks(holder).catch((err) => logger.warn({ err: (err as Error).message }, 'releasing leases failed'));
      unregisterHolder?.();
      await ops?.close();
    },
  };
}
