import { spawn } from 'node:child_process';
import { uniqueName } from '@mailroom/db/testing';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { mailboxState, testPrisma, type Fixture } from './testing/fixtures.ts';
import { startIngress, type RunningIngress, useIngressWithFixture } from './testing/harness.ts';

const prisma = testPrisma(10);
let ing: RunningIngress;
let f: Fixture;
useIngressWithFixture(prisma, (started) => ({ ing, f } = started));

function lmtp(port: number) {
  return nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port, name: 'mta.test' } as nodemailer.TransportOptions);
}

/** The delivery log rows of these recipients (once the refusal writer has written what it holds). */
async function entries(ingress: RunningIngress, recipients: string[]) {
  await ingress.ingress.deliveryLog?.flush();
  return prisma.deliveryLogEntry.findMany({ where: { recipient: { in: recipients } }, orderBy: { id: 'asc' } });
}

function run(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('delivery log', () => {
  it('LMTP (nodemailer): logs delivered (mailbox + UID), unknown user, disabled and over-quota recipients', async () => {
    const ok = await f.mailbox(uniqueName('ok'));
    const off = await f.mailbox(uniqueName('off'), { enabled: false });
    const full = await f.mailbox(uniqueName('full'), { quotaBytes: 10 });
    await prisma.mailbox.update({ where: { id: full.id }, data: { usedBytes: 10n } });
    const unknown = `${uniqueName('nobody')}@${f.domain}`;
    const messageId = `<${uniqueName('mid')}@sender.example>`;
    const info = await lmtp(ing.ports.lmtp).sendMail({
      envelope: { from: 'alice@sender.example', to: [ok.address, unknown, off.address, full.address] },
      raw: `From: alice@sender.example\r\nTo: ${ok.address}\r\nSubject: log\r\nMessage-ID: ${messageId}\r\n\r\nhello\r\n`,
    });
    expect(info.accepted).toEqual([ok.address]);

    const rows = await entries(ing, [ok.address, unknown, off.address, full.address]);
    const by = new Map(rows.map((r) => [r.recipient, r]));
    const stored = (await mailboxState(prisma, ok.id)).messages[0]!;
    expect(by.get(ok.address)).toMatchObject({
      result: 'delivered',
      replyCode: 250,
      enhancedCode: '2.0.0',
      domainId: f.domainId,
      mailboxId: ok.id,
      uid: stored.uid,
      envelopeFrom: 'alice@sender.example',
      messageId,
      clientAddress: '127.0.0.1',
      protocol: 'LMTP',
    });
    expect(by.get(ok.address)!.sizeOctets).toBeGreaterThan(0);
    expect(by.get(ok.address)!.id).toBe(stored.id);
    expect(by.get(unknown)).toMatchObject({
      result: 'refused',
      replyCode: 550,
      enhancedCode: '5.1.1',
      domainId: f.domainId,
      mailboxId: null,
      reason: 'unknown user',
      uid: null,
    });
    expect(by.get(off.address)).toMatchObject({
      result: 'refused',
      replyCode: 550,
      enhancedCode: '5.2.1',
      mailboxId: off.id,
      reason: 'mailbox disabled',
    });
    expect(by.get(full.address)).toMatchObject({
      result: 'deferred',
      replyCode: 452,
      enhancedCode: '4.2.2',
      mailboxId: full.id,
      reason: 'over quota',
    });
    // one queue id for the whole transaction, in every entry
    expect(new Set(rows.map((r) => r.queueId)).size).toBe(1);
  });

  it('SMTP over STARTTLS (smtplib): logs the protocol ESMTPS, a relay refusal without a domain, and a pending domain as not hosted', async () => {
    const ok = await f.mailbox(uniqueName('py'));
    const pending = await prisma.domain.create({
      data: {
        name: `${uniqueName('pending')}.example.com`,
        ownerId: f.ownerId,
        verificationToken: 'x',
        claimExpiresAt: new Date(Date.now() + 3_600_000),
      },
    });
    const relay = `${uniqueName('x')}@relay.example`;
    const pendingRcpt = `${uniqueName('p')}@${pending.name}`;
    const script = `
import smtplib, ssl, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='py.test')
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s.starttls(context=ctx)
s.sendmail('bob@sender.example', sys.argv[2].split(','), b'Subject: py\\r\\nMessage-ID: <py@sender.example>\\r\\n\\r\\nhi\\r\\n')
s.quit()`;
    const out = await run('python3', ['-c', script, String(ing.ports.smtp), `${ok.address},${relay},${pendingRcpt}`]);
    expect(out.stderr).toBe('');
    const rows = await entries(ing, [ok.address, relay, pendingRcpt]);
    const by = new Map(rows.map((r) => [r.recipient, r]));
    expect(by.get(ok.address)).toMatchObject({
      result: 'delivered',
      protocol: 'ESMTPS',
      mailboxId: ok.id,
      messageId: '<py@sender.example>',
    });
    expect(by.get(relay)).toMatchObject({ result: 'refused', replyCode: 550, enhancedCode: '5.7.1', domainId: null, protocol: 'ESMTPS' });
    // a pending claim hosts nothing: refused like a name nobody claimed, and not shown to the claimant as its domain's log
    expect(by.get(pendingRcpt)).toMatchObject({ result: 'refused', enhancedCode: '5.7.1', domainId: null });
  });

  it('swaks: a message over the size limit is refused at DATA and logged with its size for every recipient', async () => {
    const small = await startIngress(prisma, { maxMessageBytes: 2000 });
    try {
      const a = await f.mailbox(uniqueName('big'));
      const body = 'x'.repeat(5000);
      const out = await run('swaks', [
        '--server',
        `127.0.0.1:${small.ports.smtp}`,
        '--to',
        a.address,
        '--from',
        'big@sender.example',
        '--body',
        body,
        '--silent',
        '2',
      ]);
      expect(out.stdout + out.stderr).toMatch(/552/);
      const [row] = await entries(small, [a.address]);
      expect(row).toMatchObject({ result: 'refused', replyCode: 552, enhancedCode: '5.3.4', domainId: f.domainId, protocol: 'ESMTP' });
      expect(row!.sizeOctets).toBeGreaterThan(2000);
    } finally {
      await small.close();
    }
  });

  it('a mailbox that fills up between RCPT and DATA is deferred at DATA with its mailbox, size and Message-ID', async () => {
    const m = await f.mailbox(uniqueName('tight'), { quotaBytes: 300 });
    const info = await lmtp(ing.ports.lmtp).sendMail({
      envelope: { from: 'c@sender.example', to: [m.address] },
      raw: `Subject: tight\r\nMessage-ID: <tight@sender.example>\r\n\r\n${'y'.repeat(400)}\r\n`,
    });
    expect(info.rejected).toEqual([m.address]);
    expect(info.response).toMatch(/^452 4\.2\.2 /);
    const [row] = await entries(ing, [m.address]);
    expect(row).toMatchObject({
      result: 'deferred',
      replyCode: 452,
      enhancedCode: '4.2.2',
      mailboxId: m.id,
      messageId: '<tight@sender.example>',
      reason: 'mailbox quota exceeded',
    });
  });

  it("names the message's author (its From field's first address) beside MAIL FROM, on every path that logs after DATA", async () => {
    const [small, large, warned, blockedFor, kept, none, unknown, forged] = await Promise.all([
      f.mailbox(uniqueName('hf-small')),
      f.mailbox(uniqueName('hf-large')),
      f.mailbox(uniqueName('hf-warn'), { quotaBytes: 20_000 }),
      f.mailbox(uniqueName('hf-blocked')),
      f.mailbox(uniqueName('hf-kept')),
      f.mailbox(uniqueName('hf-none')),
      Promise.resolve({ address: `${uniqueName('hf-nobody')}@${f.domain}` }),
      f.mailbox(uniqueName('hf-forged')),
    ]);
    const brand = `${uniqueName('brand')}.example`;
    // a newsletter from its mailing service's bounce address, a display name in RFC 2047 words, a second author
    const head = (to: string) => `From: =?UTF-8?Q?Brand_N=C3=BCws?= <News@${brand}>, other@${brand}\r\nTo: ${to}\r\nSubject: deals\r\n\r\n`;
    const envelope = `bounce-${uniqueName('b')}@esp.example`;
    const t = lmtp(ing.ports.lmtp);
    // small body, batched statement; 1 MB body stored in parts; a quota warning due: stored one by one
    await t.sendMail({ envelope: { from: envelope, to: [small.address, unknown.address] }, raw: `${head(small.address)}hi\r\n` });
    await t.sendMail({ envelope: { from: envelope, to: [large.address] }, raw: `${head(large.address)}${'z'.repeat(1_048_576)}\r\n` });
    await t.sendMail({ envelope: { from: envelope, to: [warned.address] }, raw: `${head(warned.address)}${'w'.repeat(17_000)}\r\n` });
    // no From field at all
    await t.sendMail({ envelope: { from: envelope, to: [none.address] }, raw: 'Subject: anonymous\r\n\r\nhi\r\n' });
    // abuse: markup in the display name and an address longer than any path (RFC 5321's 254 octets) first: the
    // overlong one is not an author, so the entry names the next
    const overlong = `${'a'.repeat(300)}@long.example`;
    await t.sendMail({
      envelope: { from: envelope, to: [forged.address] },
      raw: `From: "<script>alert(1)</script>" <${overlong}>, Real <real@${brand}>\r\nSubject: forged\r\n\r\nhi\r\n`,
    });
    t.close();
    // SMTP: the author blocked for one recipient's mailbox, refused at DATA, delivered to the other
    await prisma.senderRule.create({ data: { domainId: f.domainId, mailboxId: blockedFor.id, pattern: brand, action: 'block' } });
    const smtp = nodemailer.createTransport({ host: '127.0.0.1', port: ing.ports.smtp, secure: false, ignoreTLS: true, name: 'mx.test' });
    await smtp.sendMail({ envelope: { from: envelope, to: [blockedFor.address, kept.address] }, raw: `${head(kept.address)}hi\r\n` });
    smtp.close();

    const rows = await entries(ing, [
      small.address,
      large.address,
      warned.address,
      blockedFor.address,
      kept.address,
      none.address,
      unknown.address,
      forged.address,
    ]);
    const by = new Map(rows.map((r) => [r.recipient, r]));
    const author = `News@${brand}`;
    for (const m of [small, large, warned, kept])
      expect(by.get(m.address)).toMatchObject({ result: 'delivered', envelopeFrom: envelope, headerFrom: author });
    expect(by.get(large.address)!.sizeOctets).toBeGreaterThan(1_048_576);
    expect((await mailboxState(prisma, warned.id)).messages).toHaveLength(2); // the message and its quota warning
    expect(by.get(blockedFor.address)).toMatchObject({ result: 'refused', replyCode: 550, headerFrom: author, mailboxId: blockedFor.id });
    expect(by.get(blockedFor.address)!.reason).toContain(author);
    expect(by.get(none.address)).toMatchObject({ result: 'delivered', headerFrom: null });
    expect(by.get(forged.address)).toMatchObject({ result: 'delivered', headerFrom: `real@${brand}` });
    // refused at RCPT, before the message was sent: no author known
    expect(by.get(unknown.address)).toMatchObject({ result: 'refused', headerFrom: null });
  });

  it('DELIVERY_LOG=off: mail is delivered and nothing is logged', async () => {
    const quiet = await startIngress(prisma, { deliveryLog: false });
    try {
      const m = await f.mailbox(uniqueName('quiet'));
      const unknown = `${uniqueName('nobody')}@${f.domain}`;
      const info = await lmtp(quiet.ports.lmtp).sendMail({
        envelope: { from: 'q@sender.example', to: [m.address, unknown] },
        raw: 'Subject: q\r\n\r\nq\r\n',
      });
      expect(info.accepted).toEqual([m.address]);
      expect(quiet.ingress.deliveryLog).toBeNull();
      expect((await mailboxState(prisma, m.id)).messages).toHaveLength(1);
      expect(await entries(quiet, [m.address, unknown])).toEqual([]);
    } finally {
      await quiet.close();
    }
  });
});
