import net from 'node:net';

export interface ProxyBalancer {
  port: number;
  close(): Promise<void>;
}

/**
 * A real TCP load balancer for tests, like HAProxy with `send-proxy`/`send-proxy-v2`: listens on 127.0.0.1, connects
 * to `targetPort` from 127.0.0.1 for each client, sends a PROXY header naming that client's address and port, then
 * relays both ways.
 */
export async function startProxyBalancer(targetPort: number, opts: { version?: 1 | 2 } = {}): Promise<ProxyBalancer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1', localAddress: '127.0.0.1' });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    upstream.write(proxyHeader(client.remoteAddress!, client.remotePort!, targetPort, opts.version ?? 1));
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A PROXY header (TCP over IPv4) for `src:sport` → 127.0.0.1:`dport`. */
export function proxyHeader(src: string, sport: number, dport: number, version: 1 | 2): Buffer {
  const v4 = src.replace(/^::ffff:/, '');
  if (version === 1) return Buffer.from(`PROXY TCP4 ${v4} 127.0.0.1 ${sport} ${dport}\r\n`);
  // signature, version 2 + PROXY, TCP over IPv4, 12 octets of addresses and ports
  const h = Buffer.alloc(28);
  Buffer.from('0d0a0d0a000d0a515549540a2111000c', 'hex').copy(h);
  v4.split('.').forEach((o, i) => (h[16 + i] = Number(o)));
  Buffer.from([127, 0, 0, 1]).copy(h, 20);
  h.writeUInt16BE(sport, 24);
  h.writeUInt16BE(dport, 26);
  return h;
}
