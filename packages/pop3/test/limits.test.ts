import { describe, expect, it } from 'vitest';
import type { PrismaClient } from '@mailroom/db';
import { createMaildrop, eventually, Pop3TestClient, sessionWithPendingDeletion, useTestDatabase, withServer } from './helpers.ts';

let prisma: PrismaClient;
useTestDatabase((opened) => (prisma = opened));

const TOO_MANY_CONNECTIONS = /^-ERR \[SYS\/TEMP\] Too many connections/;

/**
 * Fills a limit of two connections (from `localAddresses`, else 127.0.0.1): two are greeted, a third is refused and
 * closed. Returns the two, still open.
 */
async function connectTwoAndSeeThirdRefused(port: number, localAddresses: string[] = []): Promise<[Pop3TestClient, Pop3TestClient]> {
  const [first, second, third] = localAddresses;
  const a = await Pop3TestClient.connect(port, { localAddress: first });
  const b = await Pop3TestClient.connect(port, { localAddress: second });
  expect(await a.greeting()).toMatch(/^\+OK/);
  expect(await b.greeting()).toMatch(/^\+OK/);
  const c = await Pop3TestClient.connect(port, { localAddress: third });
  expect(await c.line()).toMatch(TOO_MANY_CONNECTIONS);
  await c.closed();
  return [a, b];
}

describe('limits', () => {
  it('POP3_MAX_LINE_OCTETS: an overlong line gets -ERR and the connection is closed, without waiting for its end', async () => {
    await withServer(prisma, { maxLineOctets: 512 }, async (srv) => {
      const c = await Pop3TestClient.connect(srv.port);
      await c.greeting();
      c.write('NOOP '.padEnd(5000, 'A')); // no CRLF ever comes
      expect(await c.line()).toBe('-ERR Line too long.');
      await c.closed();
      // the limit also holds inside a command that reads more (an AUTH PLAIN continuation)
      const e = await Pop3TestClient.connect(srv.port);
      await e.greeting();
      expect(await e.cmd('AUTH PLAIN')).toBe('+ ');
      e.write('A'.repeat(5000));
      expect(await e.line()).toBe('-ERR Line too long.');
      await e.closed();
      // a line just under the limit is fine
      const d = await Pop3TestClient.connect(srv.port);
      await d.greeting();
      expect(await d.cmd(`USER ${'a'.repeat(480)}@example.com`)).toBe('+OK');
      d.destroy();
    });
  });

  it('POP3_MAX_BAD_COMMANDS: unknown and wrong-state commands are tolerated up to the limit', async () => {
    await withServer(prisma, { maxBadCommands: 3 }, async (srv) => {
      const c = await Pop3TestClient.connect(srv.port);
      await c.greeting();
      expect(await c.cmd('FOO')).toBe('-ERR Unknown command.');
      expect(await c.cmd('STAT')).toBe('-ERR Command not allowed in this state.');
      expect(await c.cmd('CAPA')).toMatch(/^\+OK/);
      await c.body();
      expect(await c.cmd('BAR')).toBe('-ERR Too many bad commands.');
      await c.closed();
    });
  });

  it('POP3_AUTH_TIMEOUT_S: an idle unauthenticated connection is closed', async () => {
    await withServer(prisma, { authTimeoutMs: 300 }, async (srv) => {
      const c = await Pop3TestClient.connect(srv.port);
      await c.greeting();
      expect(await c.line()).toBe('-ERR Disconnected for inactivity.');
      await c.closed();
    });
  });

  it('POP3_IDLE_TIMEOUT_S: an idle logged-in session is closed and its deletions are not applied', async () => {
    // 2 s, not less: the timer runs in this process, so a stall of the whole process (a loaded CI machine) longer than
    // the timeout between the login's reply and the DELE would fire it first and fail the test for nothing.
    await withServer(prisma, { idleTimeoutMs: 2000, authTimeoutMs: 60_000 }, async (srv) => {
      const { md, c } = await sessionWithPendingDeletion(prisma, srv.port);
      expect(await c.line()).toBe('-ERR Disconnected for inactivity.');
      await c.closed();
      await eventually(async () => (await prisma.maildropLease.count({ where: { mailboxId: md.mailboxId } })) === 0);
      expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(1);
    });
  });

  it('POP3_MAX_CONNECTIONS: connections beyond the total are refused with [SYS/TEMP]', async () => {
    await withServer(prisma, { maxConnections: 2 }, async (srv) => {
      const [a, b] = await connectTwoAndSeeThirdRefused(srv.port);
      a.destroy();
      await eventually(async () => srv.server.connectionCount < 2);
      const d = await Pop3TestClient.connect(srv.port);
      expect(await d.greeting()).toMatch(/^\+OK/);
      d.destroy();
      b.destroy();
    });
  });

  it('POP3_MAX_CONNECTIONS_PER_IP: one address cannot take more than its share', async () => {
    await withServer(prisma, { maxConnectionsPerIp: 2, maxConnections: 100 }, async (srv) => {
      const [a, b] = await connectTwoAndSeeThirdRefused(srv.port);
      expect(await srv.server.metrics.registry.getSingleMetricAsString('mailroom_pop3_connections_rejected_total')).toMatch(
        /max_connections_per_ip"\} 1/,
      );
      a.destroy();
      b.destroy();
    });
  });

  it('POP3_IPV4_PREFIX / POP3_IPV6_PREFIX: the per-IP limit counts a whole client network', async () => {
    // 127.0.0.2 and 127.0.0.3 are one /24 but two /32s (IPv6 /64s are unit-tested in core's network.test.ts)
    await withServer(prisma, { maxConnectionsPerIp: 2, networkPrefixes: { ipv4Prefix: 24, ipv6Prefix: 64 } }, async (srv) => {
      const [a, b] = await connectTwoAndSeeThirdRefused(srv.port, ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
      // the implicit-TLS port counts the same network before the handshake
      await expect(Pop3TestClient.connect(srv.tlsPort, { tls: true, localAddress: '127.0.0.5' })).rejects.toThrow();
      const other = await Pop3TestClient.connect(srv.tlsPort, { tls: true, localAddress: '127.0.1.5' });
      expect(await other.greeting()).toMatch(/^\+OK/);
      other.destroy();
      a.destroy();
      b.destroy();
    });
    await withServer(prisma, { maxConnectionsPerIp: 2, networkPrefixes: { ipv4Prefix: 32, ipv6Prefix: 64 } }, async (srv) => {
      const clients = await Promise.all(
        ['127.0.0.2', '127.0.0.2', '127.0.0.3'].map((localAddress) => Pop3TestClient.connect(srv.port, { localAddress })),
      );
      for (const c of clients) expect(await c.greeting()).toMatch(/^\+OK/);
      const d = await Pop3TestClient.connect(srv.port, { localAddress: '127.0.0.2' });
      expect(await d.line()).toMatch(TOO_MANY_CONNECTIONS);
      for (const c of clients) c.destroy();
    });
  });

  it('POP3_AUTH_DEADLINE_S: CAPA and NOOP do not keep an unauthenticated connection alive; a logged-in one is not cut', async () => {
    // 3 s: the second connection's greeting and login must fit in it even on a loaded machine
    const authDeadlineMs = 3000;
    await withServer(prisma, { authDeadlineMs, authTimeoutMs: 60_000, maxBadCommands: 1000 }, async (srv) => {
      const c = await Pop3TestClient.connect(srv.port);
      await c.greeting();
      // a command every 100 ms, far more often than the idle timeout: only the deadline can end this
      let last = '';
      for (let i = 0; i < 200 && !last.startsWith('-ERR Authentication deadline'); i++) {
        last = await c.cmd(i % 2 ? 'CAPA' : 'NOOP');
        if (last.startsWith('+OK')) await c.body();
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(last).toBe('-ERR Authentication deadline exceeded, disconnecting.');
      await c.closed();

      const md = await createMaildrop(prisma);
      const connectedAt = Date.now();
      const d = await Pop3TestClient.connect(srv.port);
      await d.greeting();
      expect(await d.login(md.address, md.password)).toBe('+OK Logged in.');
      // past the deadline counted from the connection, whatever the login took
      await new Promise((r) => setTimeout(r, connectedAt + authDeadlineMs + 500 - Date.now()));
      expect(await d.cmd('NOOP')).toBe('+OK');
      expect(await d.cmd('QUIT')).toMatch(/^\+OK/);
    });
  });

  it('METRICS_HOST: the metrics listener stays on loopback when POP3 listens on every address', async () => {
    await withServer(prisma, { host: '0.0.0.0', metricsHost: '127.0.0.1', metricsPort: 0 }, async (srv) => {
      const pop3 = await Pop3TestClient.connect(srv.port, { host: '127.0.0.2' });
      expect(await pop3.greeting()).toMatch(/^\+OK/);
      pop3.destroy();
      expect((await fetch(`http://127.0.0.1:${srv.server.ports.metrics}/healthz`)).status).toBe(200);
      await expect(fetch(`http://127.0.0.2:${srv.server.ports.metrics}/healthz`)).rejects.toThrow();
    });
  });
});
