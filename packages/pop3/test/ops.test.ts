import { once } from 'node:events';
import net from 'node:net';
import { Writable } from 'node:stream';
import { createPrismaClient, type PrismaClient } from '@mailroom/db';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createPop3Server } from '../src/server.ts';
import { testDatabaseUrl } from '@mailroom/db/testing';
import {
  createMaildrop,
  cuttableProxy,
  deliver,
  eventually,
  makeMessage,
  openPrisma,
  Pop3TestClient,
  sessionWithPendingDeletion,
  startServer,
  testConfig,
  testStore,
  testTls,
  useTestDatabase,
  withServer,
} from './helpers.ts';

let prisma: PrismaClient;
useTestDatabase((opened) => (prisma = opened));

describe('health and metrics HTTP', () => {
  it('serves /healthz, /readyz and Prometheus /metrics', async () => {
    await withServer(prisma, { metricsPort: 0 }, async (srv) => {
      const base = `http://127.0.0.1:${srv.server.ports.metrics}`;
      const md = await createMaildrop(prisma);
      const c = await Pop3TestClient.connect(srv.port);
      await c.greeting();
      await c.login(md.address, md.password);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/mailroom_pop3_connections_total\{port="pop3"\} 1/);
      expect(metrics).toMatch(/mailroom_pop3_logins_total\{result="ok"\} 1/);
      expect(metrics).toMatch(/mailroom_pop3_sessions_logged_in 1/);
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      c.destroy();
    });
  });

  it('/readyz is 503 when the database is unreachable', async () => {
    const dead = createPrismaClient('postgresql://nobody:x@127.0.0.1:1/none');
    const store = testStore(dead);
    const srv = await startServer(prisma, { metricsPort: 0 }, { store });
    try {
      expect((await fetch(`http://127.0.0.1:${srv.server.ports.metrics}/readyz`)).status).toBe(503);
    } finally {
      await srv.close();
      await dead.$disconnect();
    }
  });
});

describe('database unavailable', () => {
  it('mid-session: RETR gets [SYS/TEMP] and the session goes on; QUIT then deletes nothing; the lease it could not release expires', async () => {
    const proxy = await cuttableProxy(testDatabaseUrl());
    const viaProxy = openPrisma(proxy.url);
    const store = testStore(viaProxy);
    const srv = await startServer(prisma, { leaseTtlMs: 1500 }, { store });
    try {
      const md = await createMaildrop(prisma);
      const a = makeMessage({ subject: 'first' });
      const b = makeMessage({ subject: 'second' });
      await deliver(prisma, md.mailboxId, a);
      await deliver(prisma, md.mailboxId, b);
      const c = await Pop3TestClient.connect(srv.port);
      await c.greeting();
      expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
      expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);

      proxy.cut(); // PostgreSQL goes away mid-session
      expect(await c.cmd('RETR 2')).toMatch(/^-ERR \[SYS\/TEMP\] /);
      expect(await c.cmd('STAT')).toBe(`+OK 1 ${b.length}`); // the session's snapshot still answers
      expect(await c.cmd('QUIT')).toBe('-ERR [SYS/TEMP] Some deleted messages were not removed, try again later.');
      await c.closed();
      proxy.restore();
      expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(2);

      // The lease the ended session could not release is not renewed for it: it lapses and the owner logs in again.
      const again = await eventually(async () => {
        const d = await Pop3TestClient.connect(srv.port);
        await d.greeting();
        if ((await d.login(md.address, md.password)) === '+OK Logged in.') return d;
        d.destroy();
        return undefined;
      });
      expect(await again.cmd('STAT')).toBe(`+OK 2 ${a.length + b.length}`);
      expect((await again.multi('RETR 1')).body.equals(a)).toBe(true);
      expect(await again.cmd('QUIT')).toMatch(/^\+OK/);
    } finally {
      await srv.close();
      await viaProxy.$disconnect();
      await proxy.close();
    }
  });

  it('answers a login with -ERR [SYS/TEMP] and keeps the connection usable', async () => {
    const dead = createPrismaClient('postgresql://nobody:x@127.0.0.1:1/none');
    const store = testStore(dead);
    const srv = await startServer(prisma, {}, { store });
    try {
      const c = await Pop3TestClient.connect(srv.port);
      await c.greeting();
      expect(await c.login('user@example.com', 'pw')).toMatch(/^-ERR \[SYS\/TEMP\] /);
      expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    } finally {
      await srv.close();
      await dead.$disconnect();
    }
  });
});

describe('graceful shutdown', () => {
  it('tells idle sessions, refuses new ones, applies no deletions and releases every lease', async () => {
    const srv = await startServer(prisma);
    const { md, c } = await sessionWithPendingDeletion(prisma, srv.port);
    expect(await prisma.maildropLease.count({ where: { mailboxId: md.mailboxId } })).toBe(1);
    await srv.close();
    expect(await c.line()).toBe('-ERR [SYS/TEMP] Server shutting down.');
    await c.closed();
    expect(await prisma.maildropLease.count({ where: { holder: srv.server.holder } })).toBe(0);
    expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(1);
    await expect(Pop3TestClient.connect(srv.port)).rejects.toThrow();
  });

  it('lets a running RETR finish before closing', async () => {
    const srv = await startServer(prisma);
    const md = await createMaildrop(prisma);
    const big = makeMessage({ body: `${'0123456789abcdef'.repeat(64)}\r\n`.repeat(3000) }); // ~3 MB
    await deliver(prisma, md.mailboxId, big);
    const c = await Pop3TestClient.connect(srv.port);
    await c.greeting();
    await c.login(md.address, md.password);
    c.write('RETR 1\r\n');
    await eventually(async () => (c.rest().length > 0 ? true : undefined));
    const closing = srv.close();
    expect(await c.line()).toBe(`+OK ${big.length} octets`);
    expect((await c.body()).equals(big)).toBe(true);
    expect(await c.line()).toBe('-ERR [SYS/TEMP] Server shutting down.');
    await closing;
  });

  it('counts connections still in their TLS handshake against the limit, and drops them at shutdown without waiting', async () => {
    // a handshake timeout far beyond the test's own: close() must not wait for it
    const srv = await startServer(prisma, { maxConnections: 2, authTimeoutMs: 600_000 });
    const silent = await Promise.all(
      [0, 1].map(async () => {
        const raw = net.connect(srv.tlsPort, '127.0.0.1');
        await once(raw, 'connect');
        raw.on('error', () => undefined);
        return raw;
      }),
    );
    await eventually(async () => (srv.server.connectionCount === 2 ? true : undefined));
    // the limit is reached by two clients that never said hello: a third is refused
    await expect(Pop3TestClient.connect(srv.tlsPort, { tls: true })).rejects.toThrow();
    expect(srv.server.connectionCount).toBe(2);
    const closed = silent.map((raw) => once(raw, 'close'));
    await srv.close();
    await Promise.all(closed);
    expect(srv.server.connectionCount).toBe(0);
  });
});

describe('logging', () => {
  it('tags lines with a connection id and never writes a password', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    });
    const store = testStore(prisma, { pool: undefined });
    const server = createPop3Server({
      store,
      config: testConfig(),
      logger: pino({ level: 'trace' }, sink),
      tls: await testTls(),
      sleep: async () => undefined,
    });
    const { pop3 } = await server.listen();
    try {
      const md = await createMaildrop(prisma, { password: 'Sup3r-Secret-Passw0rd' });
      const c = await Pop3TestClient.connect(pop3);
      await c.greeting();
      await c.login(md.address, 'Wr0ng-Secret-Passw0rd');
      await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${md.address}\0Another-Secret-Passw0rd`).toString('base64')}`);
      await c.login(md.address, md.password);
      await c.cmd('QUIT');
      await c.closed();
    } finally {
      await server.close();
    }
    const text = JSON.stringify(lines);
    expect(lines.length).toBeGreaterThan(3);
    for (const secret of ['Sup3r-Secret-Passw0rd', 'Wr0ng-Secret-Passw0rd', 'Another-Secret-Passw0rd']) expect(text).not.toContain(secret);
    const sessionLines = lines.filter((l) => ['login failed', 'logged in', 'logout', 'command'].includes(String(l.msg)));
    expect(sessionLines.length).toBeGreaterThan(3);
    for (const l of sessionLines) expect(l.conn).toEqual(expect.any(String));
  });
});
