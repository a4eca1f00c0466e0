import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrismaClient } from '@mailroom/db';
import { createMaildrop, deliver, eventually, makeMessage, openPrisma, Pop3TestClient, withServer } from './helpers.ts';

let prisma: PrismaClient;

beforeAll(() => {
  prisma = openPrisma();
});
afterAll(async () => {
  await prisma.$disconnect();
});

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
    await withServer(prisma, { idleTimeoutMs: 800, authTimeoutMs: 60_000 }, async (srv) => {
      const md = await createMaildrop(prisma);
      await deliver(prisma, md.mailboxId, makeMessage());
      const c = await Pop3TestClient.connect(srv.port);
      await c.greeting();
      expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
      expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
      expect(await c.line()).toBe('-ERR Disconnected for inactivity.');
      await c.closed();
      await eventually(async () => (await prisma.maildropLease.count({ where: { mailboxId: md.mailboxId } })) === 0);
      expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(1);
    });
  });

  it('POP3_MAX_CONNECTIONS: connections beyond the total are refused with [SYS/TEMP]', async () => {
    await withServer(prisma, { maxConnections: 2 }, async (srv) => {
      const a = await Pop3TestClient.connect(srv.port);
      const b = await Pop3TestClient.connect(srv.port);
      await a.greeting();
      await b.greeting();
      const c = await Pop3TestClient.connect(srv.port);
      expect(await c.line()).toMatch(/^-ERR \[SYS\/TEMP\] Too many connections/);
      await c.closed();
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
      const a = await Pop3TestClient.connect(srv.port);
      const b = await Pop3TestClient.connect(srv.port);
      await a.greeting();
      await b.greeting();
      const c = await Pop3TestClient.connect(srv.port);
      expect(await c.line()).toMatch(/^-ERR \[SYS\/TEMP\] Too many connections/);
      await c.closed();
      expect(await srv.server.metrics.registry.getSingleMetricAsString('pop3_connections_rejected_total')).toMatch(/max_connections_per_ip"\} 1/);
      a.destroy();
      b.destroy();
    });
  });
});
