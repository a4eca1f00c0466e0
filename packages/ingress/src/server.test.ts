import { createHash, randomBytes, randomInt } from 'node:crypto';
import { createPrismaClient } from '@mailroom/db';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { splitTraceFields } from './message.ts';
import { createFixture, domainUsedBytes, mailboxState, testPrisma, type Fixture } from './testing/fixtures.ts';
import { eventually, startIngress, type RunningIngress, useIngressWithFixture } from './testing/harness.ts';
import { WireClient } from './testing/wire-client.ts';

const prisma = testPrisma(20);
let ing: RunningIngress;
let f: Fixture;
useIngressWithFixture(prisma, (started) => ({ ing, f } = started));

function smtpTransport(port: number) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    requireTLS: true,
    tls: { rejectUnauthorized: false },
    name: 'client.test',
  });
}

function lmtpTransport(port: number) {
  return nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port, name: 'mta.test' } as nodemailer.TransportOptions);
}

async function storedMessages(mailboxId: string) {
  return (await mailboxState(prisma, mailboxId)).messages.map((m) => Buffer.from(m.raw));
}

describe('SMTP MX', () => {
  it('greets and advertises STARTTLS, SIZE, 8BITMIME, SMTPUTF8, PIPELINING and no AUTH', async () => {
    const c = await WireClient.connect(ing.ports.smtp);
    expect(c.greeting.code).toBe(220);
    const ehlo = await c.command('EHLO client.test');
    expect(ehlo.code).toBe(250);
    const ext = ehlo.lines.map((l) => l.slice(4));
    expect(ext).toEqual(expect.arrayContaining(['STARTTLS', 'SIZE 52428800', '8BITMIME', 'SMTPUTF8', 'PIPELINING', 'ENHANCEDSTATUSCODES']));
    expect(ext.some((l) => l.startsWith('AUTH'))).toBe(false);
    expect((await c.command('AUTH PLAIN AGhpAHNlY3JldA==')).code).toBeGreaterThanOrEqual(500);
    await c.quit();
  });

  it('is not an open relay: a foreign domain gets 550 5.7.1', async () => {
    const c = await WireClient.connect(ing.ports.smtp);
    await c.command('EHLO client.test');
    expect((await c.command('MAIL FROM:<a@example.org>')).code).toBe(250);
    const r = await c.command('RCPT TO:<victim@gmail.com>');
    expect([r.code, r.text.split(' ')[0]]).toEqual([550, '5.7.1']);
    await c.quit();
  });

  it('delivers awkward messages byte-exact over STARTTLS (8-bit, dot lines, 998-octet lines)', async () => {
    const m = await f.mailbox('exact');
    const eight = Buffer.concat([
      Buffer.from(
        'From: a@example.org\r\nSubject: 8bit\r\nContent-Type: text/plain; charset=latin1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n',
      ),
      Buffer.from([0xe9, 0xe8, 0xff, 0x80, 0x0d, 0x0a]),
      Buffer.from('caf\u00e9 \u2603\r\n', 'utf8'),
    ]);
    const dots = Buffer.from('Subject: dots\r\n\r\n.\r\n..\r\n.leading dot\r\n...three\r\nlast line\r\n. \r\n');
    const long = Buffer.from(`Subject: long\r\n\r\n${'a'.repeat(998)}\r\n${'b'.repeat(997)}.\r\n.${'c'.repeat(997)}\r\n`);
    const t = smtpTransport(ing.ports.smtp);
    for (const raw of [eight, dots, long]) {
      const info = await t.sendMail({ envelope: { from: 'a@example.org', to: [m.address] }, raw });
      expect(info.accepted).toEqual([m.address]);
      expect(info.response).toMatch(/^250 2\.0\.0 /);
    }
    t.close();
    const stored = await storedMessages(m.id);
    expect(stored.map((s) => splitTraceFields(s).message.toString('hex'))).toEqual([eight, dots, long].map((b) => b.toString('hex')));
    const first = splitTraceFields(stored[0]!).trace.toString();
    expect(first).toMatch(
      /^Return-Path: <a@example\.org>\r\nDelivered-To: exact@[^\r]+\r\nReceived: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test \(Mailroom\) with ESMTPS id [0-9A-Z]{12}\r\n\tfor <exact@[^>]+>; \w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\n$/,
    );
  });

  it('normalises bare LF (and bare CR) line endings to CRLF', async () => {
    const m = await f.mailbox('barelf');
    const c = await WireClient.connect(ing.ports.smtp);
    await c.command('EHLO client.test');
    await c.command('MAIL FROM:<a@example.org>');
    expect((await c.command(`RCPT TO:<${m.address}>`)).code).toBe(250);
    expect((await c.command('DATA')).code).toBe(354);
    c.sendData(Buffer.from('Subject: lf\nX-Test: 1\n\nline one\n.dotted\nold mac\rline\r\n'));
    const r = await c.read();
    expect(r.code).toBe(250);
    await c.quit();
    const [stored] = await storedMessages(m.id);
    expect(splitTraceFields(stored!).message.toString()).toBe('Subject: lf\r\nX-Test: 1\r\n\r\nline one\r\n.dotted\r\nold mac\r\nline\r\n');
  });

  it('takes a 25 MB attachment byte-exact and counts its size in the mailbox and domain', async () => {
    const m = await f.mailbox('big');
    const before = await domainUsedBytes(prisma, f.domainId);
    const payload = randomBytes(25 * 1024 * 1024)
      .toString('base64')
      .replace(/.{76}/g, '$&\r\n');
    const raw = Buffer.from(
      'From: a@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n' +
        `--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${payload}\r\n--b1--\r\n`,
    );
    const t = smtpTransport(ing.ports.smtp);
    const info = await t.sendMail({ envelope: { from: 'a@example.org', to: [m.address] }, raw });
    t.close();
    expect(info.accepted).toEqual([m.address]);
    const s = await mailboxState(prisma, m.id);
    const stored = Buffer.from(s.messages[0]!.raw);
    const body = splitTraceFields(stored).message;
    expect(body.length).toBe(raw.length);
    expect(createHash('sha256').update(body).digest('hex')).toBe(createHash('sha256').update(raw).digest('hex'));
    expect(s.usedBytes).toBe(BigInt(stored.length));
    expect(s.messages[0]!.sizeOctets).toBe(stored.length);
    expect((await domainUsedBytes(prisma, f.domainId)) - before).toBe(BigInt(stored.length));
  });

  it('stores a multi-recipient SMTP message once per mailbox (alias + direct + catch-all overlap)', async () => {
    const g = await createFixture(prisma);
    const a = await g.mailbox('a');
    const b = await g.mailbox('b');
    await g.alias('both', [a.id, b.id]);
    await g.alias(null, [a.id]);
    const t = smtpTransport(ing.ports.smtp);
    const info = await t.sendMail({
      envelope: { from: 'x@example.org', to: [`both@${g.domain}`, `B@${g.domain}`, `random@${g.domain}`] },
      raw: 'Subject: fan\r\n\r\nout\r\n',
    });
    t.close();
    expect(info.accepted).toHaveLength(3);
    expect((await mailboxState(prisma, a.id)).messageCount).toBe(1);
    expect((await mailboxState(prisma, b.id)).messageCount).toBe(1);
  });
});

describe('LMTP', () => {
  it('refuses HELO/EHLO and answers LHLO', async () => {
    const c = await WireClient.connect(ing.ports.lmtp);
    expect(c.greeting.lines[0]).toMatch(/^220 .*LMTP/);
    expect((await c.command('EHLO x')).code).toBe(500);
    const r = await c.command('LHLO mta.test');
    expect(r.code).toBe(250);
    expect(r.lines.map((l) => l.slice(4))).toEqual(expect.arrayContaining(['PIPELINING', '8BITMIME', 'SMTPUTF8', 'SIZE 52428800']));
    await c.quit();
  });

  it('delivers through nodemailer’s LMTP client with alias fan-out stored once per mailbox', async () => {
    const g = await createFixture(prisma);
    const a = await g.mailbox('ann');
    const b = await g.mailbox('ben');
    await g.alias('sales', [a.id, b.id]);
    const t = lmtpTransport(ing.ports.lmtp);
    const info = await t.sendMail({
      envelope: { from: 'x@example.org', to: [`Sales@${g.domain}`, `ann@${g.domain.toUpperCase()}`] },
      raw: 'Subject: lmtp\r\n\r\nhi\r\n',
    });
    t.close();
    expect(info.accepted).toHaveLength(2);
    const sa = await storedMessages(a.id);
    const sb = await storedMessages(b.id);
    expect(sa).toHaveLength(1);
    expect(sb).toHaveLength(1);
    expect(splitTraceFields(sa[0]!).message.toString()).toBe('Subject: lmtp\r\n\r\nhi\r\n');
    expect(sa[0]!.toString()).toMatch(/Delivered-To: ann@/);
    expect(sb[0]!.toString()).toMatch(/Delivered-To: ben@.*with LMTP id/s);
  });

  it('delivers name+tag@ to the mailbox name once, the tag kept in Delivered-To (subaddressing)', async () => {
    const g = await createFixture(prisma);
    const carol = await g.mailbox('carol');
    const t = lmtpTransport(ing.ports.lmtp);
    const to = [`carol+lists@${g.domain}`, `Carol+Other@${g.domain}`];
    const info = await t.sendMail({ envelope: { from: 'x@example.org', to }, raw: 'Subject: tagged\r\n\r\nhi\r\n' });
    t.close();
    expect(info.accepted).toEqual(to);
    const stored = await storedMessages(carol.id);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.toString()).toMatch(/^Return-Path: <x@example\.org>\r\nDelivered-To: carol\+lists@/);
    expect(splitTraceFields(stored[0]!).message.toString()).toBe('Subject: tagged\r\n\r\nhi\r\n');
  });

  it('takes RCPT TO:<"local"@domain> as the mailbox local (a quoted local part, RFC 5321 §4.1.2)', async () => {
    const g = await createFixture(prisma);
    const dave = await g.mailbox('dave');
    const c = await WireClient.connect(ing.ports.lmtp);
    await c.command('LHLO mta.test');
    expect((await c.command('MAIL FROM:<x@example.org>')).code).toBe(250);
    expect((await c.command(`RCPT TO:<"Dave"@${g.domain}>`)).code).toBe(250);
    expect((await c.command('DATA')).code).toBe(354);
    expect((await c.command('Subject: quoted\r\n\r\nhi\r\n.')).code).toBe(250);
    await c.quit();
    const stored = await storedMessages(dave.id);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.toString()).toMatch(/^Return-Path: <x@example\.org>\r\nDelivered-To: dave@/);
  });

  it('answers each recipient after its own store: the one crossing its quota mid-transaction gets 452 4.2.2, the other 250', async () => {
    const g = await createFixture(prisma);
    const roomy = await g.mailbox('roomy');
    const tight = await g.mailbox('tight', { quotaBytes: 400 });
    const c = await WireClient.connect(ing.ports.lmtp);
    await c.command('LHLO mta.test');
    c.write(`MAIL FROM:<x@example.org>\r\nRCPT TO:<${roomy.address}>\r\nRCPT TO:<${tight.address}>\r\nDATA\r\n`);
    expect((await c.read()).code).toBe(250);
    expect((await c.read()).code).toBe(250); // tight still has room for something at RCPT time
    expect((await c.read()).code).toBe(250);
    expect((await c.read()).code).toBe(354);
    c.sendData(Buffer.from(`Subject: q\r\n\r\n${'z'.repeat(500)}\r\n`));
    const r1 = await c.read();
    const r2 = await c.read();
    expect([r1.code, r1.text.split(' ')[0]]).toEqual([250, '2.0.0']);
    expect(r1.text).toContain(roomy.address);
    expect([r2.code, r2.text.split(' ')[0]]).toEqual([452, '4.2.2']);
    expect(r2.text).toContain(tight.address);
    // the connection keeps working after per-recipient replies
    expect((await c.command('NOOP')).code).toBe(250);
    await c.quit();
    expect((await mailboxState(prisma, roomy.id)).messageCount).toBe(1);
    expect(await mailboxState(prisma, tight.id)).toMatchObject({ messageCount: 0, usedBytes: 0n, nextUid: 1 });
  });

  it('keeps UIDs and usage exact under concurrent LMTP deliveries to one mailbox', async () => {
    const g = await createFixture(prisma);
    const m = await g.mailbox('hot');
    const N = 24;
    const transports = Array.from({ length: 8 }, () => lmtpTransport(ing.ports.lmtp));
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        transports[i % 8]!.sendMail({
          envelope: { from: 'x@example.org', to: [m.address] },
          raw: `Subject: ${i}\r\n\r\n${'p'.repeat(i * 37)}\r\n`,
        }),
      ),
    );
    for (const t of transports) t.close();
    const s = await mailboxState(prisma, m.id);
    expect(s.messages.map((x) => x.uid).sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    const total = s.messages.reduce((acc, x) => acc + x.sizeOctets, 0);
    expect(s.usedBytes).toBe(BigInt(total));
    expect(s.messageCount).toBe(N);
    expect(await domainUsedBytes(prisma, g.domainId)).toBe(BigInt(total));
  });

  it('stores nothing when the client dies in the middle of DATA', async () => {
    const g = await createFixture(prisma);
    const m = await g.mailbox('cut');
    const c = await WireClient.connect(ing.ports.lmtp);
    await c.command('LHLO mta.test');
    await c.command('MAIL FROM:<x@example.org>');
    await c.command(`RCPT TO:<${m.address}>`);
    expect((await c.command('DATA')).code).toBe(354);
    c.write(`Subject: half\r\n\r\n${'h'.repeat(100_000)}\r\n`);
    await new Promise((r) => setTimeout(r, 50));
    c.destroy();
    await eventually(() => ing.ingress.sessionCount() === 0);
    expect(ing.ingress.bufferedBytes()).toBe(0);
    expect(await mailboxState(prisma, m.id)).toMatchObject({ messageCount: 0, usedBytes: 0n, nextUid: 1, messages: [] });
    // the next complete delivery gets UID 1: nothing was reserved by the aborted one
    const t = lmtpTransport(ing.ports.lmtp);
    await t.sendMail({ envelope: { from: 'x@example.org', to: [m.address] }, raw: 'Subject: whole\r\n\r\nok\r\n' });
    t.close();
    expect((await mailboxState(prisma, m.id)).messages.map((x) => x.uid)).toEqual([1]);
  });
});

describe('rejections', () => {
  async function rcptReply(port: number, rcpt: string, mailArgs = '', hello = 'EHLO client.test') {
    const c = await WireClient.connect(port);
    await c.command(hello);
    const mail = await c.command(`MAIL FROM:<x@example.org>${mailArgs}`);
    if (mail.code !== 250) {
      await c.quit();
      return `${mail.code} ${mail.text.split(' ')[0]}`;
    }
    const r = await c.command(`RCPT TO:<${rcpt}>`);
    await c.quit();
    return `${r.code} ${r.text.split(' ')[0]}`;
  }

  it('answers every refusal with its RFC 3463 code over SMTP and LMTP', async () => {
    const g = await createFixture(prisma);
    await g.mailbox('off', { enabled: false });
    const fullBox = await g.mailbox('full', { quotaBytes: 10 });
    await prisma.mailbox.update({ where: { id: fullBox.id }, data: { usedBytes: 10n } });
    const full = await g.mailbox('fullish', { quotaBytes: 1000 });
    const disabledDomain = await g.domainRow({ active: false });
    await g.mailbox('who', { domainId: disabledDomain.id });
    for (const [port, hello] of [
      [ing.ports.smtp, 'EHLO client.test'],
      [ing.ports.lmtp, 'LHLO mta.test'],
    ] as const) {
      expect(await rcptReply(port, `nobody@${g.domain}`, '', hello)).toBe('550 5.1.1');
      expect(await rcptReply(port, `off@${g.domain}`, '', hello)).toBe('550 5.2.1');
      expect(await rcptReply(port, `who@${disabledDomain.name}`, '', hello)).toBe('550 5.2.1');
      expect(await rcptReply(port, 'someone@elsewhere.example', '', hello)).toBe('550 5.7.1');
      // full already; and one whose quota the declared SIZE would cross
      expect(await rcptReply(port, `full@${g.domain}`, '', hello)).toBe('452 4.2.2');
      expect(await rcptReply(port, full.address, ' SIZE=5000', hello)).toBe('452 4.2.2');
      expect(await rcptReply(port, full.address, ' SIZE=60000000', hello)).toBe('552 5.3.4');
    }
  });

  it('answers 552 5.2.2 for quota when the operator chooses permanent replies', async () => {
    const perm = await startIngress(prisma, { quotaReply: 'permanent' });
    try {
      const g = await createFixture(prisma);
      const m = await g.mailbox('p', { quotaBytes: 300 });
      expect(await rcptReply(perm.ports.smtp, m.address, ' SIZE=400')).toBe('552 5.2.2');
      // crossing at DATA time
      const c = await WireClient.connect(perm.ports.smtp);
      await c.command('EHLO client.test');
      await c.command('MAIL FROM:<x@example.org>');
      expect((await c.command(`RCPT TO:<${m.address}>`)).code).toBe(250);
      await c.command('DATA');
      c.sendData(Buffer.from(`Subject: big\r\n\r\n${'q'.repeat(400)}\r\n`));
      const r = await c.read();
      expect([r.code, r.text.split(' ')[0]]).toEqual([552, '5.2.2']);
      await c.quit();
    } finally {
      await perm.close();
    }
  });

  it('refuses a message over INGRESS_MAX_MESSAGE_BYTES with 552 5.3.4 (SMTP once, LMTP per recipient) and a huge header with 554 5.6.0', async () => {
    const small = await startIngress(prisma, { maxMessageBytes: 2000, maxHeaderBytes: 1000 });
    try {
      const g = await createFixture(prisma);
      const a = await g.mailbox('a');
      const b = await g.mailbox('b');
      const ehlo = await WireClient.connect(small.ports.smtp);
      expect((await ehlo.command('EHLO client.test')).lines.map((l) => l.slice(4))).toContain('SIZE 2000');
      await ehlo.quit();

      const s = await WireClient.connect(small.ports.smtp);
      await s.command('EHLO client.test');
      await s.command('MAIL FROM:<x@example.org>');
      await s.command(`RCPT TO:<${a.address}>`);
      await s.command('DATA');
      s.sendData(Buffer.from(`Subject: big\r\n\r\n${'x'.repeat(3000)}\r\n`));
      const r = await s.read();
      expect([r.code, r.text.split(' ')[0]]).toEqual([552, '5.3.4']);
      // header section that never ends within the limit
      await s.command('MAIL FROM:<x@example.org>');
      await s.command(`RCPT TO:<${a.address}>`);
      await s.command('DATA');
      s.sendData(Buffer.from(`Subject: h\r\n${'X-Pad: 0123456789012345678901234567890123456789\r\n'.repeat(30)}\r\nbody\r\n`));
      const h = await s.read();
      expect([h.code, h.text.split(' ')[0]]).toEqual([554, '5.6.0']);
      await s.quit();

      const l = await WireClient.connect(small.ports.lmtp);
      await l.command('LHLO mta.test');
      await l.command('MAIL FROM:<x@example.org>');
      await l.command(`RCPT TO:<${a.address}>`);
      await l.command(`RCPT TO:<${b.address}>`);
      await l.command('DATA');
      l.sendData(Buffer.from(`Subject: big\r\n\r\n${'x'.repeat(3000)}\r\n`));
      const l1 = await l.read();
      const l2 = await l.read();
      expect([l1.code, l1.text.split(' ')[0], l2.code, l2.text.split(' ')[0]]).toEqual([552, '5.3.4', 552, '5.3.4']);
      await l.quit();
      expect((await mailboxState(prisma, a.id)).messageCount).toBe(0);
      expect((await mailboxState(prisma, b.id)).messageCount).toBe(0);
    } finally {
      await small.close();
    }
  });
});

describe('postmaster (RFC 5321 §4.5.1)', () => {
  it('takes <postmaster> and postmaster@ every hosted domain without one to the operator address; a domain’s own comes first', async () => {
    const ops = await createFixture(prisma);
    const desk = await ops.mailbox('hostmaster-desk');
    const pm = await startIngress(prisma, { postmasterAddress: `Hostmaster-Desk@${ops.domain.toUpperCase()}` });
    const own = await createFixture(prisma);
    const ownBox = await own.mailbox('postmaster');
    const plain = await createFixture(prisma);
    try {
      const c = await WireClient.connect(pm.ports.smtp);
      await c.command('EHLO client.test');
      expect((await c.command('MAIL FROM:<reporter@example.org>')).code).toBe(250);
      for (const rcpt of [`PostMaster@${plain.domain}`, `"postmaster"@${plain.domain}`, 'Postmaster', `postmaster@${own.domain}`]) {
        const r = await c.command(`RCPT TO:<${rcpt}>`);
        expect([rcpt, r.code]).toEqual([rcpt, 250]);
      }
      // never a way to relay: postmaster of a domain we do not host is still refused
      const foreign = await c.command('RCPT TO:<postmaster@elsewhere.example>');
      expect([foreign.code, foreign.text.split(' ')[0]]).toEqual([550, '5.7.1']);
      expect((await c.command('DATA')).code).toBe(354);
      expect((await c.command('Subject: abuse report\r\n\r\nhello\r\n.')).code).toBe(250);
      await c.quit();
      const toDesk = await storedMessages(desk.id);
      expect(toDesk).toHaveLength(1); // two recipients routed to one mailbox: stored once
      expect(toDesk[0]!.toString()).toMatch(/^Return-Path: <reporter@example\.org>\r\nDelivered-To: hostmaster-desk@/);
      expect(await storedMessages(ownBox.id)).toHaveLength(1);
    } finally {
      await pm.close();
    }
    // without an operator address, postmaster@ a domain that has none is an unknown user like any other
    const c = await WireClient.connect(ing.ports.lmtp);
    await c.command('LHLO mta.test');
    await c.command('MAIL FROM:<reporter@example.org>');
    const r = await c.command(`RCPT TO:<postmaster@${plain.domain}>`);
    expect([r.code, r.text.split(' ')[0]]).toEqual([550, '5.1.1']);
    await c.quit();
  });
});

describe('limits and malformed input', () => {
  it('refuses a connection over the per-IP limit with 421 4.7.0', async () => {
    const lim = await startIngress(prisma, { maxConnectionsPerIp: 2 });
    try {
      const c1 = await WireClient.connect(lim.ports.smtp);
      const c2 = await WireClient.connect(lim.ports.smtp);
      const c3 = await WireClient.connect(lim.ports.smtp);
      expect(c1.greeting.code).toBe(220);
      expect(c2.greeting.code).toBe(220);
      expect([c3.greeting.code, c3.greeting.text.split(' ')[0]]).toEqual([421, '4.7.0']);
      await c3.closed();
      await c1.quit();
      await eventually(() => lim.ingress.sessionCount() <= 1);
      const c4 = await WireClient.connect(lim.ports.smtp);
      expect(c4.greeting.code).toBe(220);
      await c4.quit();
      await c2.quit();
    } finally {
      await lim.close();
    }
  });

  it('refuses connections over the per-IP connection rate with 421 4.7.0', async () => {
    const lim = await startIngress(prisma, { maxConnectionsPerIpPerMinute: 2 });
    try {
      const c1 = await WireClient.connect(lim.ports.smtp);
      await c1.quit();
      const c2 = await WireClient.connect(lim.ports.smtp);
      await c2.quit();
      const c3 = await WireClient.connect(lim.ports.smtp);
      expect([c1.greeting.code, c2.greeting.code]).toEqual([220, 220]);
      expect([c3.greeting.code, c3.greeting.text.split(' ')[0]]).toEqual([421, '4.7.0']);
      // LMTP (the trusted MTA) is not rate limited
      const l = await WireClient.connect(lim.ports.lmtp);
      expect(l.greeting.code).toBe(220);
      await l.quit();
    } finally {
      await lim.close();
    }
  });

  it('closes an idle session with 421 after the socket timeout', async () => {
    const lim = await startIngress(prisma, { socketTimeoutMs: 300 });
    try {
      const c = await WireClient.connect(lim.ports.smtp);
      await c.command('EHLO client.test');
      const r = await c.read();
      expect(r.code).toBe(421);
      await c.closed();
      await eventually(() => lim.ingress.sessionCount() === 0);
    } finally {
      await lim.close();
    }
  });

  it('on shutdown finishes a message that is mid-DATA, then answers 421', async () => {
    const own = await startIngress(prisma, { closeTimeoutMs: 5000 });
    const g = await createFixture(prisma);
    const m = await g.mailbox('shutdown');
    const c = await WireClient.connect(own.ports.lmtp);
    await c.command('LHLO mta.test');
    await c.command('MAIL FROM:<x@example.org>');
    await c.command(`RCPT TO:<${m.address}>`);
    expect((await c.command('DATA')).code).toBe(354);
    c.write('Subject: last one\r\n\r\nfirst half\r\n');
    const closing = own.close(); // stops listening at once; open sessions get up to closeTimeoutMs
    c.write('second half\r\n.\r\n');
    const r = await c.read();
    expect(r.code).toBe(250);
    expect((await c.command('MAIL FROM:<x@example.org>')).code).toBe(421);
    await closing;
    const stored = await storedMessages(m.id);
    expect(splitTraceFields(stored[0]!).message.toString()).toBe('Subject: last one\r\n\r\nfirst half\r\nsecond half\r\n');
  });

  it('refuses MAIL over the per-IP message rate with 451 4.7.1', async () => {
    const lim = await startIngress(prisma, { maxMessagesPerIpPerMinute: 2 });
    try {
      const c = await WireClient.connect(lim.ports.smtp);
      await c.command('EHLO client.test');
      expect((await c.command('MAIL FROM:<x@example.org>')).code).toBe(250);
      await c.command('RSET');
      expect((await c.command('MAIL FROM:<x@example.org>')).code).toBe(250);
      await c.command('RSET');
      const r = await c.command('MAIL FROM:<x@example.org>');
      expect([r.code, r.text.split(' ')[0]]).toEqual([451, '4.7.1']);
      await c.quit();
    } finally {
      await lim.close();
    }
  });

  it('answers 452 4.3.1 when concurrent messages would exceed the memory budget, and frees it afterwards', async () => {
    const lim = await startIngress(prisma, { maxMessageBytes: 4000, maxBufferedBytes: 5000 });
    try {
      const g = await createFixture(prisma);
      const m = await g.mailbox('mem');
      const open = async () => {
        const c = await WireClient.connect(lim.ports.lmtp);
        await c.command('LHLO mta.test');
        await c.command('MAIL FROM:<x@example.org>');
        await c.command(`RCPT TO:<${m.address}>`);
        expect((await c.command('DATA')).code).toBe(354);
        return c;
      };
      const a = await open();
      a.write(`Subject: a\r\n\r\n${'a'.repeat(3000)}\r\n`);
      await eventually(() => lim.ingress.bufferedBytes() >= 3000);
      const b = await open();
      b.sendData(Buffer.from(`Subject: b\r\n\r\n${'b'.repeat(3000)}\r\n`));
      const rb = await b.read();
      expect([rb.code, rb.text.split(' ')[0]]).toEqual([452, '4.3.1']);
      a.write('.\r\n');
      expect((await a.read()).code).toBe(250);
      await eventually(() => lim.ingress.bufferedBytes() === 0);
      // with the budget free again, the retry goes through
      await b.command('MAIL FROM:<x@example.org>');
      await b.command(`RCPT TO:<${m.address}>`);
      await b.command('DATA');
      b.sendData(Buffer.from(`Subject: b\r\n\r\n${'b'.repeat(3000)}\r\n`));
      expect((await b.read()).code).toBe(250);
      await a.quit();
      await b.quit();
      expect((await mailboxState(prisma, m.id)).messageCount).toBe(2);
    } finally {
      await lim.close();
    }
  });

  it('refuses connections over the listener maximum with 421', async () => {
    const lim = await startIngress(prisma, { maxConnections: 1 });
    try {
      const c1 = await WireClient.connect(lim.ports.lmtp);
      const c2 = await WireClient.connect(lim.ports.lmtp);
      expect(c1.greeting.code).toBe(220);
      expect(c2.greeting.code).toBe(421);
      await c1.quit();
    } finally {
      await lim.close();
    }
  });

  it('answers garbage, over-long commands and bad syntax with errors and keeps serving', async () => {
    const c = await WireClient.connect(ing.ports.smtp);
    expect((await c.command('MAIL FROM:<x@example.org>')).code).toBe(503); // before EHLO
    await c.command('EHLO client.test');
    expect((await c.command('FOO bar')).code).toBe(500);
    expect((await c.command('MAIL FROM:x@@')).code).toBeGreaterThanOrEqual(500);
    expect((await c.command('DATA')).code).toBe(503);
    expect((await c.command(`MAIL FROM:<${'a'.repeat(300)}@example.org> SIZE=abc`)).code).toBeGreaterThanOrEqual(500);
    c.write(Buffer.from([0x00, 0xff, 0xfe, 0x0d, 0x0a]));
    expect((await c.read()).code).toBeGreaterThanOrEqual(500);
    expect((await c.command('NOOP')).code).toBe(250);
    await c.quit();

    const long = await WireClient.connect(ing.ports.smtp);
    long.write(`EHLO ${'x'.repeat(10_000)}\r\n`);
    const r = await long.read().catch(() => null);
    expect(r === null || r.code === 421 || r.code >= 500).toBe(true);
    long.destroy();

    const http = await WireClient.connect(ing.ports.smtp);
    expect((await http.command('GET / HTTP/1.1')).code).toBe(421);
    http.destroy();

    // the server is still fine
    const ok = await WireClient.connect(ing.ports.smtp);
    expect((await ok.command('EHLO client.test')).code).toBe(250);
    await ok.quit();
  });
});

describe('robustness', () => {
  it('survives random garbage on both listeners and keeps delivering', async () => {
    const words = [
      'HELO',
      'EHLO',
      'LHLO',
      'MAIL FROM:',
      'RCPT TO:',
      'DATA',
      'RSET',
      'NOOP',
      'QUIT',
      'STARTTLS',
      'BDAT',
      'AUTH',
      '<',
      '>',
      '@',
      ' ',
      'SIZE=',
      '.',
      '\r\n',
      '\n',
      '\r',
      '\u0000',
    ];
    for (let round = 0; round < 30; round++) {
      const port = round % 2 ? ing.ports.lmtp : ing.ports.smtp;
      const c = await WireClient.connect(port);
      for (let i = 0; i < 20; i++) {
        const junk =
          randomInt(3) === 0
            ? randomBytes(randomInt(1, 300))
            : Buffer.from(Array.from({ length: randomInt(1, 8) }, () => words[randomInt(words.length)]).join(''), 'latin1');
        c.write(junk);
      }
      c.write('\r\n');
      c.destroy();
    }
    await eventually(() => ing.ingress.sessionCount() === 0);
    const g = await createFixture(prisma);
    const m = await g.mailbox('after');
    const t = lmtpTransport(ing.ports.lmtp);
    const info = await t.sendMail({ envelope: { from: 'x@example.org', to: [m.address] }, raw: 'Subject: still here\r\n\r\nok\r\n' });
    t.close();
    expect(info.accepted).toEqual([m.address]);
  });

  it('answers 451 4.3.0 when the database is unreachable, and /readyz says 503', async () => {
    const dead = createPrismaClient('postgresql://mailroom:x@127.0.0.1:1/nowhere');
    const down = await startIngress(dead);
    try {
      const c = await WireClient.connect(down.ports.smtp);
      await c.command('EHLO client.test');
      await c.command('MAIL FROM:<x@example.org>');
      const r = await c.command('RCPT TO:<someone@example.com>');
      expect([r.code, r.text.split(' ')[0]]).toEqual([451, '4.3.0']);
      await c.quit();
      expect((await fetch(`http://127.0.0.1:${down.ports.metrics}/readyz`)).status).toBe(503);
      expect((await fetch(`http://127.0.0.1:${down.ports.metrics}/healthz`)).status).toBe(200);
    } finally {
      await down.close();
      await dead.$disconnect();
    }
  });
});

describe('HTTP endpoints', () => {
  it('serves /healthz, /readyz and /metrics', async () => {
    const base = `http://127.0.0.1:${ing.ports.metrics}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const m = await fetch(`${base}/metrics`);
    expect(m.status).toBe(200);
    const text = await m.text();
    expect(text).toMatch(/mailroom_ingress_stored_copies_total\{protocol="smtp"\} \d+/);
    expect(text).toContain('mailroom_ingress_recipients_total');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
