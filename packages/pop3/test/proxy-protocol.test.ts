// PROXY protocol (v1/v2) from trusted load balancers (POP3_PROXY_TRUSTED): the client address it names drives limits,
// throttling, logs and last-login; from anyone else a PROXY header is a bad command. Real sockets throughout: the test
// process plays the load balancer (127.0.0.1, trusted) and clients on other loopback addresses (untrusted).
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { parseTrustedProxies } from '@mailroom/core';
import { startProxyBalancer } from '@mailroom/core/testing';
import { findFreePort } from '@mailroom/db/testing';
import type { PrismaClient } from '@mailroom/db';
import { describe, expect, it } from 'vitest';
import {
  createMaildrop,
  deliver,
  eventually,
  makeMessage,
  Pop3TestClient,
  testTempDir,
  useTestDatabase,
  withServer,
  type TestServer,
} from './helpers.ts';

let prisma: PrismaClient;
useTestDatabase((opened) => (prisma = opened));

/** The load balancer is 127.0.0.1; plaintext USER/PASS is allowed, since proxied clients are not on loopback. */
const behindProxy = { proxyTrusted: parseTrustedProxies('127.0.0.1/32'), proxyHeaderTimeoutMs: 400, allowPlaintextAuth: true };

const v1 = (src: string, sport = 40000) =>
  `PROXY ${src.includes(':') ? 'TCP6' : 'TCP4'} ${src} ${src.includes(':') ? '::1' : '127.0.0.1'} ${sport} 110\r\n`;

function v2(opts: { command?: 'PROXY' | 'LOCAL'; src?: string; sport?: number; tlv?: Buffer } = {}): Buffer {
  const sig = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  const command = opts.command ?? 'PROXY';
  if (command === 'LOCAL') return Buffer.concat([sig, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  const src = opts.src ?? '203.0.113.9';
  const six = src.includes(':');
  const addr = six ? Buffer.alloc(36) : Buffer.alloc(12);
  if (six) {
    const groups = src.split('::');
    const head = groups[0] ? groups[0].split(':') : [];
    const tail = groups[1] ? groups[1].split(':') : [];
    const all = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
    all.forEach((g, i) => addr.writeUInt16BE(parseInt(g, 16), 2 * i));
    addr.writeUInt16BE(1, 30); // destination ::1
    addr.writeUInt16BE(opts.sport ?? 40000, 32);
    addr.writeUInt16BE(995, 34);
  } else {
    src.split('.').forEach((o, i) => (addr[i] = Number(o)));
    Buffer.from([127, 0, 0, 1]).copy(addr, 4);
    addr.writeUInt16BE(opts.sport ?? 40000, 8);
    addr.writeUInt16BE(995, 10);
  }
  const body = Buffer.concat([addr, opts.tlv ?? Buffer.alloc(0)]);
  const head = Buffer.from([0x21, six ? 0x21 : 0x11, 0, 0]);
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([sig, head, body]);
}

async function lastLoginIp(mailboxId: string): Promise<string | null> {
  const m = await prisma.mailbox.findUniqueOrThrow({ where: { id: mailboxId }, select: { lastLoginIp: true } });
  return m.lastLoginIp;
}

/** Connects from `localAddress`, sends `header` before reading anything, and returns the client (greeting unread). */
async function viaHeader(srv: TestServer, header: string | Buffer, localAddress = '127.0.0.1'): Promise<Pop3TestClient> {
  const c = await Pop3TestClient.connect(srv.port, { localAddress });
  c.write(header);
  return c;
}

/** Logs in and quits; returns what the server recorded as the client's address. */
async function loginAndQuit(c: Pop3TestClient, md: { address: string; password: string; mailboxId: string }): Promise<string | null> {
  expect(await c.greeting()).toMatch(/^\+OK/);
  expect(await c.login(md.address, md.password)).toMatch(/^\+OK/);
  expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
  await c.closed();
  return lastLoginIp(md.mailboxId);
}

describe('PROXY protocol from a trusted load balancer', () => {
  it('v1 (TCP4), v2 (TCP4 with a TLV) and v2 over IPv6: the named client is the one recorded at login', async () => {
    const md = await createMaildrop(prisma);
    await withServer(prisma, behindProxy, async (srv) => {
      expect(await loginAndQuit(await viaHeader(srv, v1('203.0.113.7')), md)).toBe('203.0.113.7');
      const tlv = Buffer.from([0x04, 0x00, 0x03, 0x61, 0x62, 0x63]); // PP2_TYPE_NOOP, ignored
      expect(await loginAndQuit(await viaHeader(srv, v2({ src: '198.51.100.23', tlv })), md)).toBe('198.51.100.23');
      expect(await loginAndQuit(await viaHeader(srv, v2({ src: '2001:db8:5::42' })), md)).toBe('2001:db8:5::42');
      expect(await loginAndQuit(await viaHeader(srv, v1('2001:db8:6::1')), md)).toBe('2001:db8:6::1');
    });
  });

  it('a header split across packets, and one coalesced with the first command, both work', async () => {
    const md = await createMaildrop(prisma);
    await withServer(prisma, behindProxy, async (srv) => {
      const c = await Pop3TestClient.connect(srv.port);
      for (const part of [
        v2({ src: '192.0.2.1' }).subarray(0, 5),
        v2({ src: '192.0.2.1' }).subarray(5, 15),
        v2({ src: '192.0.2.1' }).subarray(15),
      ]) {
        c.write(part);
        await new Promise((r) => setTimeout(r, 30));
      }
      expect(await loginAndQuit(c, md)).toBe('192.0.2.1');
      const d = await Pop3TestClient.connect(srv.port);
      d.write(`${v1('192.0.2.2')}CAPA\r\n`);
      expect(await d.greeting()).toMatch(/^\+OK/);
      expect(await d.line()).toBe('+OK Capability list follows');
      expect((await d.lines()).length).toBeGreaterThan(3);
      expect(await d.login(md.address, md.password)).toMatch(/^\+OK/);
      await d.cmd('QUIT');
      expect(await lastLoginIp(md.mailboxId)).toBe('192.0.2.2');
    });
  });

  it("v2 LOCAL (the balancer's health check) keeps the peer address; v1 UNKNOWN too", async () => {
    const md = await createMaildrop(prisma);
    await withServer(prisma, behindProxy, async (srv) => {
      expect(await loginAndQuit(await viaHeader(srv, v2({ command: 'LOCAL' })), md)).toBe('127.0.0.1');
      await prisma.mailbox.update({ where: { id: md.mailboxId }, data: { lastLoginIp: null } });
      expect(await loginAndQuit(await viaHeader(srv, 'PROXY UNKNOWN\r\n'), md)).toBe('127.0.0.1');
    });
  });

  it('implicit TLS behind the balancer: the header comes first, then the TLS handshake (also in the same packet)', async () => {
    const md = await createMaildrop(prisma);
    const msg = await deliver(prisma, md.mailboxId, makeMessage({ body: '.dot line\r\n' }));
    await withServer(prisma, behindProxy, async (srv) => {
      for (const [src, coalesce] of [
        ['203.0.113.50', false],
        ['203.0.113.51', true],
      ] as const) {
        const raw = net.connect({ port: srv.tlsPort, host: '127.0.0.1' });
        await new Promise((r) => raw.once('connect', r));
        if (coalesce) raw.cork();
        raw.write(v1(src));
        const secure = tls.connect({ socket: raw, rejectUnauthorized: false, servername: 'localhost' });
        if (coalesce) setTimeout(() => raw.uncork(), 50);
        await new Promise((r, j) => {
          secure.once('secureConnect', r);
          secure.once('error', j);
        });
        let got = '';
        secure.on('data', (d: Buffer) => (got += d.toString('latin1')));
        secure.write(`USER ${md.address}\r\nPASS ${md.password}\r\nRETR 1\r\nQUIT\r\n`);
        await new Promise((r) => secure.once('close', r));
        expect(got).toContain(`+OK ${msg.raw.length} octets\r\n`);
        expect(got).toContain('\r\n\r\n..dot line\r\n.\r\n');
        expect(await lastLoginIp(md.mailboxId)).toBe(src);
      }
      // STLS on the plain port after the header: the upgraded session keeps the client's address
      const c = await viaHeader(srv, v1('203.0.113.52'));
      expect(await c.greeting()).toMatch(/^\+OK/);
      expect(await c.cmd('STLS')).toMatch(/^\+OK/);
      await c.startTls();
      expect(await loginAndQuit2(c, md)).toBe('203.0.113.52');
    });
  });
});

const hasHaproxy = spawnSync('sh', ['-c', 'command -v haproxy']).status === 0;

describe.skipIf(!hasHaproxy)('behind a real HAProxy (send-proxy-v2, health checks with check-send-proxy)', () => {
  it('the client behind HAProxy is the one recorded, and its health checks (v2 LOCAL) never count as bad headers', async () => {
    const md = await createMaildrop(prisma);
    // HAProxy's checks are a separate process: one descheduled on a loaded machine for longer than the 400 ms the
    // slowloris test needs would count as a header timeout, which is not what this test is about
    await withServer(prisma, { ...behindProxy, proxyHeaderTimeoutMs: 5000 }, async (srv) => {
      const port = await findFreePort();
      const dir = testTempDir('pop3-haproxy-');
      const cfg = path.join(dir, 'haproxy.cfg');
      writeFileSync(
        cfg,
        [
          'global',
          '  log stderr format raw local0 emerg',
          'defaults',
          '  mode tcp',
          '  timeout connect 2s',
          '  timeout client 30s',
          '  timeout server 30s',
          `listen pop3`,
          `  bind 127.0.0.1:${port}`,
          '  option tcp-check',
          '  tcp-check expect rstring ^\\+OK',
          `  server s1 127.0.0.1:${srv.port} send-proxy-v2 check inter 200ms check-send-proxy source 127.0.0.1`,
          '',
        ].join('\n'),
      );
      const haproxy = spawn('haproxy', ['-db', '-f', cfg], { stdio: 'ignore' });
      try {
        const c = await eventually(() => Pop3TestClient.connect(port, { localAddress: '127.0.0.7' }).catch(() => undefined));
        expect(await loginAndQuit(c, md)).toBe('127.0.0.7');
        // let a few health checks run: each is a PROXY v2 LOCAL header, then the +OK greeting
        await new Promise((r) => setTimeout(r, 700));
        const rejected = await srv.server.metrics.connectionsRejected.get();
        expect(rejected.values.find((v) => v.labels.reason === 'proxy_header')?.value ?? 0).toBe(0);
        expect((await srv.server.metrics.connectionsTotal.get()).values[0]!.value).toBeGreaterThan(2);
      } finally {
        haproxy.kill('SIGTERM');
        await new Promise((r) => haproxy.once('exit', r));
      }
    });
  });
});

describe('PROXY protocol abuse', () => {
  it('an untrusted client cannot forge its address: its PROXY line is an unknown command, v2 breaks nothing', async () => {
    const md = await createMaildrop(prisma);
    await withServer(prisma, behindProxy, async (srv) => {
      const c = await viaHeader(srv, v1('198.51.100.66'), '127.0.0.5');
      expect(await c.greeting()).toMatch(/^\+OK/);
      expect(await c.line()).toBe('-ERR Unknown command.');
      expect(await loginAndQuit2(c, md)).toBe('127.0.0.5');
      // on the TLS port a forged header just fails the handshake
      const raw = net.connect({ port: srv.tlsPort, host: '127.0.0.1', localAddress: '127.0.0.5' });
      await new Promise((r) => raw.once('connect', r));
      raw.write(v1('198.51.100.67'));
      const secure = tls.connect({ socket: raw, rejectUnauthorized: false, servername: 'localhost' });
      await expect(new Promise((r, j) => (secure.once('secureConnect', r), secure.once('error', j)))).rejects.toThrow();
    });
    // without POP3_PROXY_TRUSTED nobody is trusted, loopback included
    await withServer(prisma, { allowPlaintextAuth: true }, async (srv) => {
      const c = await viaHeader(srv, v2({ src: '198.51.100.68' }));
      expect(await c.greeting()).toMatch(/^\+OK/);
      c.destroy();
    });
  });

  it('from a trusted source the header is required: none, garbage, oversized, bad address or a slowloris is closed unanswered', async () => {
    await withServer(prisma, behindProxy, async (srv) => {
      const cases: (string | Buffer)[] = [
        'USER someone@example.com\r\n', // no header at all
        '\x16\x03\x01\x02\x00\x01', // a TLS ClientHello where the header belongs
        `PROXY TCP4 ${'1'.repeat(120)}\r\n`, // over v1's 107 octets
        'PROXY TCP4 203.0.113.300 127.0.0.1 1 2\r\n',
        'PROXY TCP4 203.0.113.3 127.0.0.1 1 2\n', // LF without CR
        'PROXY TCP6 203.0.113.3 127.0.0.1 1 2\r\n', // family mismatch
        'PROXY TCP4 203.0.113.3 127.0.0.1 99999 2\r\n',
        Buffer.concat([v2().subarray(0, 14), Buffer.from([0xff, 0xff])]), // v2 length 65535: over the cap
        Buffer.concat([v2().subarray(0, 12), Buffer.from([0x31, 0x11, 0, 12]), Buffer.alloc(12)]), // version 3
        Buffer.concat([v2().subarray(0, 12), Buffer.from([0x21, 0x11, 0, 4]), Buffer.alloc(4)]), // short address block
        'PROX', // slowloris: never finishes (closed after proxyHeaderTimeoutMs)
        '', // sends nothing at all
      ];
      for (const header of cases) {
        const c = await viaHeader(srv, header);
        await c.closed(5000);
        expect(c.rest(), JSON.stringify(header.toString())).toBe('');
      }
      const rejected = await srv.server.metrics.connectionsRejected.get();
      expect(rejected.values.find((v) => v.labels.reason === 'proxy_header')?.value).toBe(cases.length);
      // a TLS-port slowloris is closed too
      const raw = net.connect({ port: srv.tlsPort, host: '127.0.0.1' });
      raw.on('error', () => undefined);
      raw.write('PROXY TCP4 ');
      await new Promise((r) => raw.once('close', r));
      expect(srv.server.connectionCount).toBe(0);
    });
  });

  it('limits key on the PROXY address: two real clients through one balancer are counted separately', async () => {
    const md = await createMaildrop(prisma);
    await withServer(prisma, { ...behindProxy, maxConnectionsPerIp: 1 }, async (srv) => {
      const lb = await startProxyBalancer(srv.port, { version: 2 });
      try {
        const a1 = await Pop3TestClient.connect(lb.port, { localAddress: '127.0.0.2' });
        expect(await a1.greeting()).toMatch(/^\+OK/);
        // the same client again: over its own limit, although every connection comes from the balancer's address
        const a2 = await Pop3TestClient.connect(lb.port, { localAddress: '127.0.0.2' });
        expect(await a2.line()).toBe('-ERR [SYS/TEMP] Too many connections, try again later.');
        // another client through the same balancer is not affected
        const b1 = await Pop3TestClient.connect(lb.port, { localAddress: '127.0.0.3' });
        expect(await loginAndQuit(b1, md)).toBe('127.0.0.3');
        a1.destroy();
        a2.destroy();
      } finally {
        await lb.close();
      }
    });
  });
});

async function loginAndQuit2(c: Pop3TestClient, md: { address: string; password: string; mailboxId: string }): Promise<string | null> {
  expect(await c.login(md.address, md.password)).toMatch(/^\+OK/);
  expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
  await c.closed();
  return lastLoginIp(md.mailboxId);
}
