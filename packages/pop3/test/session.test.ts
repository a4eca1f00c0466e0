import { describe, expect, it } from 'vitest';
import type { PrismaClient } from '@mailroom/db';
import { createMaildrop, deliver, makeMessage, Pop3TestClient, useTestServer, withServer, type TestServer } from './helpers.ts';
import { COPY_CHUNK_OCTETS } from '../src/prisma-store.ts';

let prisma: PrismaClient;
let srv: TestServer;
useTestServer((started) => ({ prisma, srv } = started));

async function loggedIn(address: string, password: string) {
  const c = await Pop3TestClient.connect(srv.port);
  expect(await c.greeting()).toMatch(/^\+OK /);
  expect(await c.login(address, password)).toBe('+OK Logged in.');
  return c;
}

describe('AUTHORIZATION', () => {
  it('greets, lists capabilities and logs in with USER/PASS (login case-insensitive)', async () => {
    const md = await createMaildrop(prisma);
    const c = await Pop3TestClient.connect(srv.port);
    expect(await c.greeting()).toBe('+OK Mailroom ready.');
    const capa = await c.multi('CAPA');
    expect(capa.status).toMatch(/^\+OK/);
    const caps = capa.body.toString().trim().split('\r\n');
    for (const cap of [
      'TOP',
      'UIDL',
      'USER',
      'SASL PLAIN',
      'RESP-CODES',
      'AUTH-RESP-CODE',
      'PIPELINING',
      'STLS',
      'EXPIRE NEVER USER',
      'LOGIN-DELAY 0 USER',
      'IMPLEMENTATION Mailroom',
    ]) {
      expect(caps).toContain(cap);
    }
    expect(caps.some((x) => x.startsWith('APOP'))).toBe(false);
    expect(await c.cmd(`USER ${md.localPart.toUpperCase()}@${md.domain.toUpperCase()}`)).toBe('+OK');
    expect(await c.cmd(`PASS ${md.password}`)).toBe('+OK Logged in.');
    expect(await c.cmd('QUIT')).toMatch(/^\+OK Logging out/);
    await c.closed();
  });

  it('answers an unknown user and a wrong password identically with [AUTH]', async () => {
    const md = await createMaildrop(prisma);
    const c = await Pop3TestClient.connect(srv.port);
    await c.greeting();
    const wrong = await c.login(md.address, 'not-the-password');
    const unknown = await c.login(`nobody@${md.domain}`, 'not-the-password');
    expect(wrong).toBe('-ERR [AUTH] Authentication failed.');
    expect(unknown).toBe(wrong);
    // the session stays usable
    expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
    c.destroy();
    const d = await Pop3TestClient.connect(srv.port);
    await d.greeting();
    expect(await d.login('not-an-address', 'x')).toBe(wrong);
    d.destroy();
  });

  it('a mailbox of a pending (unverified) domain cannot log in: the right password gets the unknown-user answer', async () => {
    const md = await createMaildrop(prisma);
    await prisma.domain.update({
      where: { id: md.domainId },
      data: { verifiedAt: null, verificationToken: 'f'.repeat(32), claimExpiresAt: new Date(Date.now() + 3_600_000) },
    });
    const c = await Pop3TestClient.connect(srv.port);
    await c.greeting();
    expect(await c.login(md.address, md.password)).toBe('-ERR [AUTH] Authentication failed.');
    c.destroy();
    await prisma.domain.update({
      where: { id: md.domainId },
      data: { verifiedAt: new Date(), verificationToken: null, claimExpiresAt: null },
    });
    const d = await Pop3TestClient.connect(srv.port);
    await d.greeting();
    expect(await d.login(md.address, md.password)).toBe('+OK Logged in.');
    d.destroy();
  });

  it('closes a connection after three failed logins, like Dovecot', async () => {
    const md = await createMaildrop(prisma);
    const c = await Pop3TestClient.connect(srv.port);
    await c.greeting();
    expect(await c.login(md.address, 'a')).toBe('-ERR [AUTH] Authentication failed.');
    expect(await c.login(md.address, 'b')).toBe('-ERR [AUTH] Authentication failed.');
    expect(await c.login(md.address, 'c')).toMatch(/^-ERR \[AUTH\] Authentication failed\. Too many failures/);
    await c.closed();
  });

  it('PASS needs USER first; a password may contain spaces', async () => {
    const md = await createMaildrop(prisma, { password: 'correct horse battery staple' });
    const c = await Pop3TestClient.connect(srv.port);
    await c.greeting();
    expect(await c.cmd('PASS whatever')).toMatch(/^-ERR/);
    expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
    c.destroy();
  });

  it('AUTH PLAIN with an initial response, with a continuation, and cancelled with *', async () => {
    const md = await createMaildrop(prisma);
    const plain = (authz: string, user: string, pw: string) => Buffer.from(`${authz}\0${user}\0${pw}`).toString('base64');
    const c = await Pop3TestClient.connect(srv.port);
    await c.greeting();
    const mechs = await c.multi('AUTH');
    expect(mechs.body.toString()).toBe('PLAIN\r\n');
    expect(await c.cmd('AUTH PLAIN')).toBe('+ ');
    expect(await c.cmd('*')).toMatch(/^-ERR/);
    expect(await c.cmd(`AUTH PLAIN ${plain('', md.address, 'wrong')}`)).toBe('-ERR [AUTH] Authentication failed.');
    expect(await c.cmd(`AUTH PLAIN ${plain('someone@else.example', md.address, md.password)}`)).toBe('-ERR [AUTH] Authentication failed.');
    expect(await c.cmd('AUTH PLAIN !!!notbase64')).toMatch(/^-ERR/);
    expect(await c.cmd('AUTH CRAM-MD5')).toMatch(/^-ERR/);
    expect(await c.cmd('AUTH PLAIN')).toBe('+ ');
    expect(await c.cmd(plain(md.address, md.address, md.password))).toBe('+OK Logged in.');
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);

    const d = await Pop3TestClient.connect(srv.port);
    await d.greeting();
    expect(await d.cmd(`AUTH PLAIN ${plain('', md.address, md.password)}`)).toBe('+OK Logged in.');
    d.destroy();
  });

  it('refuses a disabled mailbox, a disabled domain and a disabled owner with [AUTH] (right password)', async () => {
    const a = await createMaildrop(prisma, { enabled: false });
    const b = await createMaildrop(prisma, { domainActive: false });
    const o = await createMaildrop(prisma);
    await prisma.user.updateMany({ where: { email: `owner@${o.domain}` }, data: { disabled: true } });
    for (const md of [a, b, o]) {
      const c = await Pop3TestClient.connect(srv.port);
      await c.greeting();
      expect(await c.login(md.address, md.password)).toMatch(/^-ERR \[AUTH\] /);
      c.destroy();
    }
  });

  it('transaction commands are refused before login without ending the session', async () => {
    const c = await Pop3TestClient.connect(srv.port);
    await c.greeting();
    expect(await c.cmd('STAT')).toMatch(/^-ERR/);
    expect(await c.cmd('RETR 1')).toMatch(/^-ERR/);
    expect(await c.cmd('APOP user 0123456789abcdef0123456789abcdef')).toMatch(/^-ERR/);
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    await c.closed();
  });
});

describe('TRANSACTION', () => {
  it('STAT, LIST and UIDL report exact sizes and stable UIDLs; RETR returns the stored octets', async () => {
    const md = await createMaildrop(prisma);
    const m1 = await deliver(prisma, md.mailboxId, makeMessage({ subject: 'one' }));
    const m2 = await deliver(prisma, md.mailboxId, makeMessage({ subject: 'two', body: 'a\r\n.b\r\n..c\r\n.\r\nend\r\n' }));
    const m3 = await deliver(prisma, md.mailboxId, Buffer.from('Subject: bin\r\n\r\n\u00ff\u00fe\u0000\x80 bytes\r\n', 'latin1'));
    const c = await loggedIn(md.address, md.password);
    const total = m1.raw.length + m2.raw.length + m3.raw.length;
    expect(await c.cmd('STAT')).toBe(`+OK 3 ${total}`);
    const list = await c.multi('LIST');
    expect(list.status).toMatch(/^\+OK/);
    expect(list.body.toString()).toBe(`1 ${m1.raw.length}\r\n2 ${m2.raw.length}\r\n3 ${m3.raw.length}\r\n`);
    expect(await c.cmd('LIST 2')).toBe(`+OK 2 ${m2.raw.length}`);
    expect(await c.cmd('LIST 4')).toMatch(/^-ERR/);
    expect(await c.cmd('LIST 0')).toMatch(/^-ERR/);
    expect(await c.cmd('LIST x')).toMatch(/^-ERR/);
    const uidl = await c.multi('UIDL');
    expect(uidl.body.toString()).toBe(`1 ${m1.uidl}\r\n2 ${m2.uidl}\r\n3 ${m3.uidl}\r\n`);
    expect(await c.cmd('UIDL 3')).toBe(`+OK 3 ${m3.uidl}`);
    for (const [n, m] of [
      [1, m1],
      [2, m2],
      [3, m3],
    ] as const) {
      const r = await c.multi(`RETR ${n}`);
      expect(r.status).toBe(`+OK ${m.raw.length} octets`);
      expect(r.body.equals(m.raw)).toBe(true);
    }
    expect(await c.cmd('NOOP')).toBe('+OK');
    expect(await c.cmd('QUIT')).toBe('+OK Logging out.');
    await c.closed();
    // nothing deleted, UIDLs identical in the next session
    const d = await loggedIn(md.address, md.password);
    expect((await d.multi('UIDL')).body.toString()).toBe(uidl.body.toString());
    d.destroy();
  });

  it('dot-stuffs lines starting with "." and terminates exactly', async () => {
    const md = await createMaildrop(prisma);
    const raw = Buffer.from('.Subject: dots\r\n\r\n.\r\n..\r\n.x\r\nok\r\n');
    await deliver(prisma, md.mailboxId, raw);
    const c = await loggedIn(md.address, md.password);
    expect(await c.cmd('RETR 1')).toBe(`+OK ${raw.length} octets`);
    expect((await c.rawBody()).toString()).toBe('..Subject: dots\r\n\r\n..\r\n...\r\n..x\r\nok\r\n.\r\n');
    c.destroy();
  });

  it('messages.dot_lines: false sends the stored octets as they are; true or NULL (older rows) are scanned and stuffed', async () => {
    const md = await createMaildrop(prisma);
    const plain = Buffer.from(`Subject: plain\r\n\r\n${'line without dots\r\n'.repeat(5000)}no final line break`);
    const dotted = Buffer.from('Subject: dotted\r\n\r\n.one\r\n..two\r\n');
    const a = await deliver(prisma, md.mailboxId, plain);
    const b = await deliver(prisma, md.mailboxId, dotted);
    const c2 = await deliver(prisma, md.mailboxId, dotted);
    // the flag is trusted, so only the ingress writes it, from the octets it stores: a false one really skips the scan
    const lying = await deliver(prisma, md.mailboxId, dotted);
    await prisma.$executeRaw`UPDATE messages SET dot_lines = false WHERE id IN (${a.id}::uuid, ${lying.id}::uuid)`;
    await prisma.$executeRaw`UPDATE messages SET dot_lines = true WHERE id = ${b.id}::uuid`;
    expect((await prisma.message.findUniqueOrThrow({ where: { id: c2.id } })).dotLines).toBeNull();
    const c = await loggedIn(md.address, md.password);
    expect(await c.cmd('RETR 1')).toBe(`+OK ${plain.length} octets`);
    expect((await c.rawBody()).equals(Buffer.concat([plain, Buffer.from('\r\n.\r\n')]))).toBe(true);
    for (const n of [2, 3]) {
      expect(await c.cmd(`RETR ${n}`)).toBe(`+OK ${dotted.length} octets`);
      expect((await c.rawBody()).toString()).toBe('Subject: dotted\r\n\r\n..one\r\n...two\r\n.\r\n');
    }
    expect(await c.cmd('TOP 1 2')).toMatch(/^\+OK/);
    expect((await c.rawBody()).toString()).toBe('Subject: plain\r\n\r\nline without dots\r\nline without dots\r\n.\r\n');
    // last: how far a client reads a stream whose dots were not doubled depends on its chunking (only its start is certain)
    await c.cmd('RETR 4');
    expect((await c.rawBody()).toString().startsWith('Subject: dotted\r\n\r\n.one\r\n')).toBe(true);
    c.destroy();
  });

  it('RETR of a message several COPY rows long is exact, with dot-lines split across row boundaries', async () => {
    const md = await createMaildrop(prisma);
    const row = COPY_CHUNK_OCTETS;
    const parts: string[] = ['Subject: rows\r\n\r\n'];
    let len = parts[0]!.length;
    // pad so that "\n" ends one row and "." starts the next, then "\r\n" ends a row and "." starts the next
    for (const [boundary, tail] of [
      [row, '\n'],
      [2 * row, '\r\n'],
      [3 * row + 1, '\r\n.'],
    ] as const) {
      const pad = boundary - len - tail.length;
      parts.push('y'.repeat(pad) + tail);
      len += pad + tail.length;
      parts.push('.dot line\r\n');
      len += 11;
    }
    parts.push('z\r\n'.repeat(1000));
    const raw = Buffer.from(parts.join(''));
    await deliver(prisma, md.mailboxId, raw);
    const c = await loggedIn(md.address, md.password);
    expect(await c.cmd('RETR 1')).toBe(`+OK ${raw.length} octets`);
    const stuffed = Buffer.from(raw.toString('latin1').replaceAll('\n.', '\n..') + '.\r\n', 'latin1');
    expect((await c.rawBody()).equals(stuffed)).toBe(true);
    c.destroy();
  });

  it('RETR stays exact when the client stops reading mid-message (recycled row buffers wait for the socket)', async () => {
    const md = await createMaildrop(prisma);
    // 16 MB of numbered lines, a few starting with "." (most rows then go out uncopied): any row written twice,
    // dropped or overwritten shows up
    const lines = ['Subject: slow reader', ''];
    for (let i = 0, octets = 0; octets < 16_000_000; i++) {
      lines.push(`${i % 20_000 === 0 ? '.' : ''}line ${i} ${'x'.repeat(i % 90)}`);
      octets += lines[lines.length - 1]!.length + 2;
    }
    const raw = Buffer.from(`${lines.join('\r\n')}\r\n`);
    await deliver(prisma, md.mailboxId, raw);
    const stuffed = Buffer.from(raw.toString('latin1').replaceAll('\n.', '\n..') + '.\r\n', 'latin1');
    for (const tls of [false, true]) {
      const c = await Pop3TestClient.connect(tls ? srv.tlsPort : srv.port, { tls });
      await c.greeting();
      expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
      c.socket.pause(); // kernel buffers fill, then the server's socket queues writes
      c.socket.write('RETR 1\r\n');
      await new Promise((r) => setTimeout(r, 1500));
      c.socket.resume();
      expect(await c.line()).toBe(`+OK ${raw.length} octets`);
      expect((await c.rawBody()).equals(stuffed), tls ? 'over TLS' : 'plain').toBe(true);
      expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    }
  });

  it('TOP returns the headers, the blank line and k body lines', async () => {
    const md = await createMaildrop(prisma);
    const raw = makeMessage({ body: 'line1\r\n.line2\r\nline3\r\n' });
    await deliver(prisma, md.mailboxId, raw);
    const headerEnd = raw.indexOf('\r\n\r\n') + 4;
    const c = await loggedIn(md.address, md.password);
    expect((await c.multi('TOP 1 0')).body.equals(raw.subarray(0, headerEnd))).toBe(true);
    expect((await c.multi('TOP 1 2')).body.toString()).toBe(`${raw.subarray(0, headerEnd).toString()}line1\r\n.line2\r\n`);
    expect((await c.multi('TOP 1 99')).body.equals(raw)).toBe(true);
    // any non-negative count (RFC 1939), however many digits: the whole message
    expect((await c.multi('TOP 1 99999999999999999999')).body.equals(raw)).toBe(true);
    expect((await c.multi(`TOP 1 ${'9'.repeat(400)}`)).body.equals(raw)).toBe(true);
    expect((await c.multi('TOP 1 007')).body.equals(raw)).toBe(true);
    expect(await c.cmd('TOP 1')).toMatch(/^-ERR/);
    expect(await c.cmd('TOP 2 1')).toMatch(/^-ERR/);
    expect(await c.cmd('TOP 1 -1')).toMatch(/^-ERR/);
    expect(await c.cmd('TOP 1 1e3')).toMatch(/^-ERR/);
    expect(await c.cmd('TOP 1 +3')).toMatch(/^-ERR/);
    c.destroy();
  });

  it('DELE hides a message, RSET restores it, QUIT deletes and updates usage in one go', async () => {
    const md = await createMaildrop(prisma);
    const msgs = [];
    for (let i = 0; i < 4; i++)
      msgs.push(await deliver(prisma, md.mailboxId, makeMessage({ subject: `m${i}`, body: 'x'.repeat(100 * (i + 1)) + '\r\n' })));
    const c = await loggedIn(md.address, md.password);
    expect(await c.cmd('DELE 2')).toMatch(/^\+OK/);
    expect(await c.cmd('DELE 2')).toMatch(/^-ERR/);
    expect(await c.cmd('RETR 2')).toMatch(/^-ERR/);
    expect(await c.cmd('TOP 2 0')).toMatch(/^-ERR/);
    expect(await c.cmd('LIST 2')).toMatch(/^-ERR/);
    expect(await c.cmd('UIDL 2')).toMatch(/^-ERR/);
    const sizes = msgs.map((m) => m.raw.length);
    expect(await c.cmd('STAT')).toBe(`+OK 3 ${sizes[0]! + sizes[2]! + sizes[3]!}`);
    expect((await c.multi('LIST')).body.toString()).toBe(`1 ${sizes[0]}\r\n3 ${sizes[2]}\r\n4 ${sizes[3]}\r\n`);
    expect((await c.multi('UIDL')).body.toString()).not.toContain(msgs[1]!.uidl);
    expect(await c.cmd('RSET')).toMatch(/^\+OK/);
    expect(await c.cmd('STAT')).toBe(`+OK 4 ${sizes.reduce((a, b) => a + b)}`);
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    expect(await c.cmd('DELE 3')).toMatch(/^\+OK/);
    // still there until QUIT
    expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(4);
    expect(await c.cmd('QUIT')).toBe('+OK Logging out, messages deleted.');
    await c.closed();
    const left = await prisma.message.findMany({ where: { mailboxId: md.mailboxId }, orderBy: { uid: 'asc' } });
    expect(left.map((m) => m.uidl)).toEqual([msgs[1]!.uidl, msgs[3]!.uidl]);
    const mbx = await prisma.mailbox.findUniqueOrThrow({ where: { id: md.mailboxId } });
    expect(Number(mbx.usedBytes)).toBe(sizes[1]! + sizes[3]!);
    expect(mbx.messageCount).toBe(2);
    const dom = await prisma.domain.findUniqueOrThrow({ where: { id: md.domainId } });
    expect(Number(dom.usedBytes)).toBe(sizes[1]! + sizes[3]!);
    // remaining messages keep their UIDLs; numbering starts over
    const d = await loggedIn(md.address, md.password);
    expect((await d.multi('UIDL')).body.toString()).toBe(`1 ${msgs[1]!.uidl}\r\n2 ${msgs[3]!.uidl}\r\n`);
    d.destroy();
  });

  it('a dropped connection after DELE deletes nothing and frees the maildrop', async () => {
    const md = await createMaildrop(prisma);
    await deliver(prisma, md.mailboxId, makeMessage());
    const c = await loggedIn(md.address, md.password);
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    c.destroy();
    await eventuallyUnlocked(md.mailboxId);
    expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(1);
    const d = await loggedIn(md.address, md.password);
    expect(await d.cmd('STAT')).toMatch(/^\+OK 1 /);
    d.destroy();
  });

  it('mail arriving mid-session appears in the next session; QUIT usage accounting stays exact', async () => {
    const md = await createMaildrop(prisma);
    const first = await deliver(prisma, md.mailboxId, makeMessage({ subject: 'before' }));
    const c = await loggedIn(md.address, md.password);
    expect(await c.cmd('STAT')).toBe(`+OK 1 ${first.raw.length}`);
    const late = await deliver(prisma, md.mailboxId, makeMessage({ subject: 'during' }));
    expect(await c.cmd('STAT')).toBe(`+OK 1 ${first.raw.length}`);
    expect(await c.cmd('LIST 2')).toMatch(/^-ERR/);
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    await c.closed();
    const d = await loggedIn(md.address, md.password);
    expect(await d.cmd('STAT')).toBe(`+OK 1 ${late.raw.length}`);
    expect(await d.cmd('UIDL 1')).toBe(`+OK 1 ${late.uidl}`);
    d.destroy();
    const mbx = await prisma.mailbox.findUniqueOrThrow({ where: { id: md.mailboxId } });
    expect(Number(mbx.usedBytes)).toBe(late.raw.length);
    expect(mbx.messageCount).toBe(1);
  });

  it('UIDLs are never reused after deletion', async () => {
    const md = await createMaildrop(prisma);
    const a = await deliver(prisma, md.mailboxId, makeMessage());
    const c = await loggedIn(md.address, md.password);
    await c.cmd('DELE 1');
    await c.cmd('QUIT');
    await c.closed();
    const b = await deliver(prisma, md.mailboxId, makeMessage());
    const d = await loggedIn(md.address, md.password);
    const u = await d.cmd('UIDL 1');
    expect(u).toBe(`+OK 1 ${b.uidl}`);
    expect(b.uidl).not.toBe(a.uidl);
    d.destroy();
  });

  it('answers pipelined commands in order', async () => {
    const md = await createMaildrop(prisma);
    const m = await deliver(prisma, md.mailboxId, makeMessage());
    const c = await Pop3TestClient.connect(srv.port);
    await c.greeting();
    c.write(`USER ${md.address}\r\nPASS ${md.password}\r\nSTAT\r\nLIST\r\nRETR 1\r\nUIDL 1\r\nNOOP\r\nQUIT\r\n`);
    expect(await c.line()).toBe('+OK');
    expect(await c.line()).toBe('+OK Logged in.');
    expect(await c.line()).toBe(`+OK 1 ${m.raw.length}`);
    expect(await c.line()).toMatch(/^\+OK/);
    expect((await c.body()).toString()).toBe(`1 ${m.raw.length}\r\n`);
    expect(await c.line()).toBe(`+OK ${m.raw.length} octets`);
    expect((await c.body()).equals(m.raw)).toBe(true);
    expect(await c.line()).toBe(`+OK 1 ${m.uidl}`);
    expect(await c.line()).toBe('+OK');
    expect(await c.line()).toMatch(/^\+OK Logging out/);
    await c.closed();
  });

  it('CAPA after login shows the mailbox policy; unknown commands keep the session usable', async () => {
    const md = await createMaildrop(prisma, { domainLoginDelaySeconds: 0, retentionDays: 30 });
    const c = await loggedIn(md.address, md.password);
    const caps = (await c.multi('CAPA')).body.toString().split('\r\n');
    expect(caps).toContain('EXPIRE 30');
    expect(caps).toContain('LOGIN-DELAY 0');
    expect(caps).not.toContain('STLS');
    expect(caps).not.toContain('USER');
    expect(await c.cmd('FOO')).toBe('-ERR Unknown command.');
    expect(await c.cmd('USER x@y.example')).toMatch(/^-ERR/);
    expect(await c.cmd('STAT')).toBe('+OK 0 0');
    c.destroy();
  });

  it('RETR of a message removed from storage underneath gets [SYS/PERM]', async () => {
    const md = await createMaildrop(prisma);
    const m = await deliver(prisma, md.mailboxId, makeMessage());
    const c = await loggedIn(md.address, md.password);
    await prisma.message.delete({ where: { id: m.id } });
    expect(await c.cmd('RETR 1')).toMatch(/^-ERR \[SYS\/PERM\]/);
    expect(await c.cmd('NOOP')).toBe('+OK');
    c.destroy();
  });
});

describe('LOGIN-DELAY', () => {
  it('refuses a login sooner than the mailbox policy allows, with [LOGIN-DELAY]', async () => {
    const md = await createMaildrop(prisma, { loginDelaySeconds: 3600 });
    const c = await loggedIn(md.address, md.password);
    const caps = (await c.multi('CAPA')).body.toString().split('\r\n');
    expect(caps).toContain('LOGIN-DELAY 3600');
    await c.cmd('QUIT');
    await c.closed();
    const d = await Pop3TestClient.connect(srv.port);
    await d.greeting();
    expect(await d.login(md.address, md.password)).toBe('-ERR [LOGIN-DELAY] Minimum time between logins is 3600 seconds.');
    d.destroy();
    // a login long enough ago is fine
    await prisma.mailbox.update({ where: { id: md.mailboxId }, data: { lastLoginAt: new Date(Date.now() - 3601_000) } });
    const e = await loggedIn(md.address, md.password);
    e.destroy();
  });

  it('falls back to the domain policy', async () => {
    const md = await createMaildrop(prisma, { domainLoginDelaySeconds: 600 });
    const c = await loggedIn(md.address, md.password);
    await c.cmd('QUIT');
    await c.closed();
    const d = await Pop3TestClient.connect(srv.port);
    await d.greeting();
    expect(await d.login(md.address, md.password)).toMatch(/^-ERR \[LOGIN-DELAY\]/);
    d.destroy();
  });
});

describe('EXPIRE (domain retention)', () => {
  it('EXPIRE n: mail delivered more than n days ago is removed at login, with usage updated', async () => {
    const md = await createMaildrop(prisma, { retentionDays: 30 });
    const old = await deliver(prisma, md.mailboxId, makeMessage({ subject: 'old' }));
    const fresh = await deliver(prisma, md.mailboxId, makeMessage({ subject: 'fresh' }));
    await prisma.message.update({ where: { id: old.id }, data: { receivedAt: new Date(Date.now() - 31 * 86_400_000) } });
    const c = await loggedIn(md.address, md.password);
    expect((await c.multi('CAPA')).body.toString().split('\r\n')).toContain('EXPIRE 30');
    expect(await c.cmd('STAT')).toBe(`+OK 1 ${fresh.raw.length}`);
    expect(await c.cmd('UIDL 1')).toBe(`+OK 1 ${fresh.uidl}`);
    c.destroy();
    expect(await prisma.message.count({ where: { id: old.id } })).toBe(0);
    const mbx = await prisma.mailbox.findUniqueOrThrow({ where: { id: md.mailboxId } });
    expect([Number(mbx.usedBytes), mbx.messageCount]).toEqual([fresh.raw.length, 1]);
    expect(Number((await prisma.domain.findUniqueOrThrow({ where: { id: md.domainId } })).usedBytes)).toBe(fresh.raw.length);
  });

  it('EXPIRE 0: messages retrieved in the session are deleted at QUIT; others stay; a drop deletes nothing', async () => {
    const md = await createMaildrop(prisma, { retentionDays: 0 });
    const a = await deliver(prisma, md.mailboxId, makeMessage({ subject: 'a' }));
    const b = await deliver(prisma, md.mailboxId, makeMessage({ subject: 'b' }));
    const c = await loggedIn(md.address, md.password);
    expect((await c.multi('CAPA')).body.toString().split('\r\n')).toContain('EXPIRE 0');
    await c.multi('TOP 2 0');
    await c.multi('RETR 1');
    c.destroy(); // dropped: nothing happens
    await eventuallyUnlocked(md.mailboxId);
    expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(2);
    const d = await loggedIn(md.address, md.password);
    expect((await d.multi('RETR 1')).body.equals(a.raw)).toBe(true);
    expect(await d.cmd('QUIT')).toBe('+OK Logging out, messages deleted.');
    expect((await prisma.message.findMany({ where: { mailboxId: md.mailboxId } })).map((m) => m.id)).toEqual([b.id]);
  });
});

describe('one session per maildrop', () => {
  it('a second login gets [IN-USE] at once; after the first logs out it succeeds', async () => {
    const md = await createMaildrop(prisma);
    const a = await loggedIn(md.address, md.password);
    const b = await Pop3TestClient.connect(srv.port);
    await b.greeting();
    expect(await b.login(md.address, md.password)).toBe('-ERR [IN-USE] Mailbox is locked by another POP3 session.');
    expect(await a.cmd('QUIT')).toMatch(/^\+OK/);
    // the lock is given back before QUIT's reply: reconnecting at once (as pollers do) must work
    expect(await prisma.maildropLease.count({ where: { mailboxId: md.mailboxId } })).toBe(0);
    expect(await b.login(md.address, md.password)).toBe('+OK Logged in.');
    b.destroy();
  });

  it("a crashed holder's expired lease does not block logins", async () => {
    const md = await createMaildrop(prisma);
    await prisma.maildropLease.create({
      data: { mailboxId: md.mailboxId, holder: 'crashed-host:1:dead', expiresAt: new Date(Date.now() - 1000) },
    });
    const c = await loggedIn(md.address, md.password);
    const lease = await prisma.maildropLease.findUniqueOrThrow({ where: { mailboxId: md.mailboxId } });
    expect(lease.holder).toBe(srv.server.holder);
    c.destroy();
  });

  it('a live lease of another holder blocks; QUIT refuses to delete when the lease was taken over', async () => {
    const md = await createMaildrop(prisma);
    await deliver(prisma, md.mailboxId, makeMessage());
    await prisma.maildropLease.create({
      data: { mailboxId: md.mailboxId, holder: 'other-host:1:live', expiresAt: new Date(Date.now() + 60_000) },
    });
    const c = await Pop3TestClient.connect(srv.port);
    await c.greeting();
    expect(await c.login(md.address, md.password)).toMatch(/^-ERR \[IN-USE\]/);
    await prisma.maildropLease.delete({ where: { mailboxId: md.mailboxId } });
    expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
    // an operator (or a bug) hands the maildrop to someone else: deletions must not be applied
    await prisma.maildropLease.update({
      where: { mailboxId: md.mailboxId },
      data: { holder: 'other-host:1:live', session: 'other-session' },
    });
    expect(await c.cmd('QUIT')).toMatch(/^-ERR \[SYS\/TEMP\]/);
    expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(1);
    await prisma.maildropLease.delete({ where: { mailboxId: md.mailboxId } });
  });
});

describe('the maildrop lease belongs to one session', () => {
  it("two sessions of one process never both hold it, and a stale session can neither free nor act under a newer one's lease", async () => {
    const md = await createMaildrop(prisma);
    await deliver(prisma, md.mailboxId, makeMessage());
    // a lease TTL far beyond the test, so no renewal runs while a lease is made to lapse by hand
    await withServer(prisma, { leaseTtlMs: 3_600_000 }, async (own) => {
      const login = async () => {
        const c = await Pop3TestClient.connect(own.port);
        await c.greeting();
        return { c, reply: await c.login(md.address, md.password) };
      };
      const a = await login();
      expect(a.reply).toBe('+OK Logged in.');
      expect((await login()).reply).toBe('-ERR [IN-USE] Mailbox is locked by another POP3 session.');
      expect(await a.c.cmd('DELE 1')).toMatch(/^\+OK/);
      // A's lease lapses (its renewals failed, say) and B, in the same process, takes the maildrop over
      await prisma.maildropLease.update({ where: { mailboxId: md.mailboxId }, data: { expiresAt: new Date(Date.now() - 1000) } });
      const b = await login();
      expect(b.reply).toBe('+OK Logged in.');
      const leaseOfB = await prisma.maildropLease.findUniqueOrThrow({ where: { mailboxId: md.mailboxId } });
      expect(leaseOfB.holder).toBe(own.server.holder); // same process: only the session tells A and B apart
      // A's QUIT must neither delete under B's lease nor free it
      expect(await a.c.cmd('QUIT')).toBe('-ERR [SYS/TEMP] Mailbox lock was lost, messages not deleted.');
      expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(1);
      expect(await prisma.maildropLease.findUnique({ where: { mailboxId: md.mailboxId } })).toEqual(leaseOfB);
      expect((await login()).reply).toBe('-ERR [IN-USE] Mailbox is locked by another POP3 session.');
      expect(await b.c.cmd('QUIT')).toBe('+OK Logging out.');
      expect(await prisma.maildropLease.count({ where: { mailboxId: md.mailboxId } })).toBe(0);
    });
  });
});

async function eventuallyUnlocked(mailboxId: string) {
  for (let i = 0; i < 200; i++) {
    if ((await prisma.maildropLease.count({ where: { mailboxId } })) === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('lease not released');
}
