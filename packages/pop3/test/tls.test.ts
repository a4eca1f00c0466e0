import os from 'node:os';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import type { PrismaClient } from '@mailroom/db';
import { createMaildrop, deliver, makeMessage, Pop3TestClient, startServer, useTestServer, type TestServer } from './helpers.ts';

let prisma: PrismaClient;
let srv: TestServer;
useTestServer((started) => ({ prisma, srv } = started), { host: '0.0.0.0' });

/** A non-loopback address of this machine, so a connection to it is not "from loopback". */
const externalIp = Object.values(os.networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

describe('STLS', () => {
  it('upgrades the plain port, stops offering STLS, and serves the session over TLS', async () => {
    const md = await createMaildrop(prisma);
    const m = await deliver(prisma, md.mailboxId, makeMessage());
    const c = await Pop3TestClient.connect(srv.port);
    await c.greeting();
    expect((await c.multi('CAPA')).body.toString()).toContain('STLS\r\n');
    expect(await c.cmd('STLS')).toBe('+OK Begin TLS negotiation now.');
    await c.startTls();
    expect((c.socket as tls.TLSSocket).encrypted).toBe(true);
    expect((await c.multi('CAPA')).body.toString()).not.toContain('STLS');
    expect(await c.cmd('STLS')).toMatch(/^-ERR/);
    expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
    expect((await c.multi('RETR 1')).body.equals(m.raw)).toBe(true);
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
  });

  it('discards plaintext pipelined behind STLS (CVE-2011-0411): injected commands never run', async () => {
    const md = await createMaildrop(prisma);
    await deliver(prisma, md.mailboxId, makeMessage());
    const c = await Pop3TestClient.connect(srv.port);
    await c.greeting();
    // an attacker in the path appends commands to the client's STLS in the same packet
    c.write(`STLS\r\nUSER ${md.address}\r\nPASS ${md.password}\r\nDELE 1\r\nQUIT\r\n`);
    expect(await c.line()).toBe('+OK Begin TLS negotiation now.');
    await c.startTls();
    // the first reply over TLS answers our CAPA, not an injected command; we are not logged in
    expect(await c.cmd('CAPA')).toMatch(/^\+OK Capability list follows/);
    const caps = (await c.body()).toString();
    expect(caps).toContain('USER');
    expect(await c.cmd('STAT')).toMatch(/^-ERR/);
    c.destroy();
    expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(1);
  });

  it('forgets a USER given before STLS: a PASS over TLS needs a USER over TLS (RFC 3207 §4.2)', async () => {
    const md = await createMaildrop(prisma);
    await deliver(prisma, md.mailboxId, makeMessage());
    // loopback, so USER is accepted in plaintext: an attacker in the path names the account before the client's STLS
    const c = await Pop3TestClient.connect(srv.port);
    await c.greeting();
    expect(await c.cmd(`USER ${md.address}`)).toBe('+OK');
    expect(await c.cmd('STLS')).toBe('+OK Begin TLS negotiation now.');
    await c.startTls();
    expect(await c.cmd(`PASS ${md.password}`)).toBe('-ERR No username given.');
    expect(await c.cmd('STAT')).toMatch(/^-ERR/);
    expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
    c.destroy();
  });
});

describe('implicit TLS (POP3S)', () => {
  it('speaks TLS from the first octet and does not offer STLS', async () => {
    const md = await createMaildrop(prisma);
    const m = await deliver(prisma, md.mailboxId, makeMessage({ body: 'secret\r\n' }));
    const c = await Pop3TestClient.connect(srv.tlsPort, { tls: true });
    expect(await c.greeting()).toMatch(/^\+OK/);
    const caps = (await c.multi('CAPA')).body.toString();
    expect(caps).not.toContain('STLS');
    expect(caps).toContain('SASL PLAIN');
    expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
    expect((await c.multi('RETR 1')).body.equals(m.raw)).toBe(true);
    c.destroy();
  });
});

describe.skipIf(!externalIp)('plaintext authentication from the network', () => {
  it('is refused before TLS (and not advertised), allowed after STLS', async () => {
    const md = await createMaildrop(prisma);
    const c = await Pop3TestClient.connect(srv.port, { host: externalIp });
    await c.greeting();
    const caps = (await c.multi('CAPA')).body.toString().split('\r\n');
    expect(caps).toContain('STLS');
    expect(caps).not.toContain('USER');
    expect(caps).not.toContain('SASL PLAIN');
    const refused = '-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.';
    expect(await c.cmd(`USER ${md.address}`)).toBe(refused);
    expect(await c.cmd(`PASS ${md.password}`)).toMatch(/^-ERR/);
    expect(await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${md.address}\0${md.password}`).toString('base64')}`)).toBe(refused);
    expect(await c.cmd('STLS')).toMatch(/^\+OK/);
    await c.startTls();
    expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
    c.destroy();
  });

  it('is allowed when the operator sets POP3_ALLOW_PLAINTEXT_AUTH', async () => {
    const open = await startServer(prisma, { host: '0.0.0.0', allowPlaintextAuth: true });
    try {
      const md = await createMaildrop(prisma);
      const c = await Pop3TestClient.connect(open.port, { host: externalIp });
      await c.greeting();
      expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
      c.destroy();
    } finally {
      await open.close();
    }
  });
});
