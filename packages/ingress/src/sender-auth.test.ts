// Sender checks on the SMTP listener (INGRESS_SENDER_AUTH): SPF, DKIM and DMARC against a real DNS server (Debian's
// dnsmasq on loopback, publishing the test domains' SPF, DKIM and DMARC records), mail sent by Nodemailer (which signs
// with DKIM itself) and by a raw SMTP client for the forgeries, the verdict read back from PostgreSQL.
import { generateKeyPairSync } from 'node:crypto';
import dgram from 'node:dgram';
import { parseTrustedProxies } from '@mailroom/core';
import { haveDnsmasq, startDnsServer, type TestDnsServer } from '@mailroom/core/testing';
import { findFreePort, uniqueName } from '@mailroom/db/testing';
import { sealMessage, type ARCSealOptions } from 'mailauth';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { ingressConfigFromEnv, loadIngressEnv } from './config.ts';
import { MAX_DKIM_SIGNATURES, randomProbeAddress, removeForgedAuthResults, safeFields } from './sender-auth.ts';
import { createFixture, mailboxState, testPrisma, type Fixture } from './testing/fixtures.ts';
import { startIngress, type RunningIngress } from './testing/harness.ts';
import { WireClient } from './testing/wire-client.ts';

const ZONE = 'auth.test';
const GOOD = `good.${ZONE}`; // SPF allows 127.0.0.1, DKIM key published, DMARC p=reject
const STRICT = `strict.${ZONE}`; // SPF -all, DMARC p=reject: nothing from here can pass
const SOFT = `soft.${ZONE}`; // SPF -all, DMARC p=quarantine
const SELECTOR = 'mr2026';
// ARC sealers: a list host the ingress trusts, one it does not, and one whose name merely ends like the trusted one
const SEALER = `lists.${ZONE}`;
const UNTRUSTED = `other.${ZONE}`;
const LOOKALIKE = `evillists.${ZONE}`;
const ARC_SELECTOR = 'arc2026';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
const dkimKey = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const dkimRecord = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;

const NULL_MX = `nullmx.${ZONE}`; // RFC 7505: sends no mail
const A_ONLY = `aonly.${ZONE}`; // no MX, an A record stands in for it
const records = {
  // every sending domain here can take replies: an MX (or an A record), as reject_unknown_sender_domain wants
  mx: [
    [GOOD, `mx.${GOOD}`, 10],
    [STRICT, `mx.${STRICT}`, 10],
    [SOFT, `mx.${SOFT}`, 10],
    [NULL_MX, '.', 0],
    ...[SEALER, UNTRUSTED, LOOKALIKE].map((d): [string, string, number] => [d, `mx.${d}`, 10]),
  ] as [string, string, number][],
  address: [[A_ONLY, '192.0.2.1']] as [string, string][],
  txt: [
    [GOOD, 'v=spf1 ip4:127.0.0.1 -all'],
    [`${SELECTOR}._domainkey.${GOOD}`, dkimRecord],
    [`_dmarc.${GOOD}`, 'v=DMARC1; p=reject'],
    [STRICT, 'v=spf1 -all'],
    [`_dmarc.${STRICT}`, 'v=DMARC1; p=reject'],
    [SOFT, 'v=spf1 -all'],
    [`_dmarc.${SOFT}`, 'v=DMARC1; p=quarantine'],
    ...[SEALER, UNTRUSTED, LOOKALIKE].map((d): [string, string] => [`${ARC_SELECTOR}._domainkey.${d}`, dkimRecord]),
  ] as [string, string][],
};

/** The stored message of a mailbox that got exactly one, as text. */
async function onlyMessage(prisma: ReturnType<typeof testPrisma>, mailboxId: string): Promise<string> {
  const { messages } = await mailboxState(prisma, mailboxId);
  expect(messages).toHaveLength(1);
  return Buffer.from(messages[0]!.raw).toString('latin1');
}

/** The unfolded header fields of a message, in order. */
function fields(raw: string): string[] {
  const header = raw.slice(0, raw.indexOf('\r\n\r\n'));
  return header.split(/\r\n(?![ \t])/).map((f) => f.replace(/\r\n[ \t]+/g, ' '));
}

/** One SMTP transaction over a raw connection; resolves with the reply to the message data. */
async function sendRaw(port: number, from: string, to: string, message: string): Promise<{ code: number; text: string }> {
  const c = await WireClient.connect(port);
  try {
    expect((await c.command('EHLO client.example')).code).toBe(250);
    expect((await c.command(`MAIL FROM:<${from}>`)).code).toBe(250);
    expect((await c.command(`RCPT TO:<${to}>`)).code).toBe(250);
    expect((await c.command('DATA')).code).toBe(354);
    c.sendData(Buffer.from(message.replace(/\r?\n/g, '\r\n'), 'latin1'));
    const r = await c.read();
    return { code: r.code, text: r.text };
  } finally {
    await c.quit();
  }
}

/** A DKIM-signed message for `d=` GOOD, made by Nodemailer's own signer (not the library that verifies it). */
async function signedMessage(to: string, subject: string): Promise<string> {
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
    dkim: { domainName: GOOD, keySelector: SELECTOR, privateKey: dkimKey },
  });
  const info = await transport.sendMail({ from: `Alice <alice@${GOOD}>`, to, subject, text: 'Quarterly figures attached.\n' });
  return (info.message as Buffer).toString('latin1');
}

/**
 * What a mailing list does to a message of STRICT's (p=reject): it checked the message on arrival (`aar`, its
 * ARC-Authentication-Results), added a footer, which breaks any DKIM signature, and sealed it as `sealer` (i=1).
 */
async function listCopy(to: string, sealer: string, aar: string): Promise<string> {
  const message = `From: Carol <carol@${STRICT}>\r\nTo: ${to}\r\nSubject: [list] minutes\r\n\r\nMinutes attached.\r\n-- \r\nlist footer\r\n`;
  const seal = { signingDomain: sealer, selector: ARC_SELECTOR, privateKey: dkimKey, authResults: aar, cv: 'none' };
  const sealed = await sealMessage(Buffer.from(message), seal as ARCSealOptions);
  return sealed.toString('latin1') + message;
}

describe.skipIf(!haveDnsmasq)('sender checks on the SMTP listener (mailauth, real DNS)', () => {
  const prisma = testPrisma(10);
  let dns: TestDnsServer;
  let f: Fixture;
  let ing: RunningIngress;
  const checksFor = (dnsServer: string, more: { dmarcReject?: boolean; skip?: string; timeoutMs?: number } = {}) => ({
    senderAuth: {
      skip: parseTrustedProxies(more.skip ?? 'none'),
      dmarcReject: more.dmarcReject ?? true,
      dns: { servers: [dnsServer], timeoutMs: 1000 },
      timeoutMs: more.timeoutMs ?? 20_000,
      rejectUnknownSenderDomain: true,
      arcTrustedSealers: [SEALER],
    },
  });

  beforeAll(async () => {
    dns = await startDnsServer([ZONE], records);
    f = await createFixture(prisma);
    // the test clients connect from 127.0.0.1, which INGRESS_UNCHECKED_CLIENTS leaves out by default: check everyone
    ing = await startIngress(prisma, checksFor(dns.server));
  });
  afterAll(async () => {
    await ing?.close();
    await dns?.close();
    await prisma.$disconnect();
  });

  it('a DKIM-signed message from an address SPF allows: spf, dkim and dmarc pass, in fields of ours above the message', async () => {
    const box = await f.mailbox(uniqueName('rcpt'));
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: ing.ports.smtp,
      secure: false,
      ignoreTLS: true,
      name: 'client.example',
      dkim: { domainName: GOOD, keySelector: SELECTOR, privateKey: dkimKey },
    });
    await transport.sendMail({
      envelope: { from: `alice@${GOOD}`, to: box.address },
      from: `alice@${GOOD}`,
      to: box.address,
      subject: 'signed',
      text: 'hi\n',
    });
    const raw = await onlyMessage(prisma, box.id);
    const list = fields(raw);
    const names = list.map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
    // our trace fields, then our verdicts, then the message as sent (its DKIM-Signature first)
    expect(names.slice(0, 6)).toEqual([
      'return-path',
      'delivered-to',
      'received',
      'received-spf',
      'authentication-results',
      'dkim-signature',
    ]);
    const ar = list[4]!;
    expect(ar).toMatch(/^Authentication-Results: mx\.test;/);
    expect(ar).toMatch(new RegExp(`dkim=pass header\\.i=@${GOOD.replace(/\./g, '\\.')} header\\.s=${SELECTOR}`));
    expect(ar).toMatch(new RegExp(`spf=pass [^;]*smtp\\.mailfrom=alice@${GOOD.replace(/\./g, '\\.')}`));
    expect(ar).toMatch(new RegExp(`dmarc=pass \\(p=REJECT [^;]*header\\.d=${GOOD.replace(/\./g, '\\.')}`));
    expect(list[3]).toMatch(/^Received-SPF: pass .*client-ip=127\.0\.0\.1;/);
    const metrics = await (await fetch(`http://127.0.0.1:${ing.ports.metrics}/metrics`)).text();
    expect(metrics).toMatch(/mailroom_ingress_sender_auth_total\{method="dmarc",result="pass"\} [1-9]/);
  });

  it('forged From: of a p=reject domain (no SPF, a DKIM signature whose body was altered) is refused 550 5.7.26 and nothing is stored', async () => {
    const box = await f.mailbox(uniqueName('rcpt'));
    // a real signature of GOOD's key, with the body changed after signing: dkim=fail; the envelope is someone else's
    const tampered = (await signedMessage(box.address, 'invoice')).replace('Quarterly figures attached.', 'Pay to IBAN XX00 0000.');
    const r = await sendRaw(ing.ports.smtp, 'billing@attacker.example', box.address, tampered);
    expect(r).toEqual({ code: 550, text: `5.7.26 Unauthenticated mail from ${GOOD} is refused by its DMARC policy` });
    // no signature at all, envelope in the domain itself but from an address its SPF does not list
    const r2 = await sendRaw(ing.ports.smtp, `ceo@${STRICT}`, box.address, `From: ceo@${STRICT}\nSubject: urgent\n\nwire it\n`);
    expect(r2.code).toBe(550);
    expect(r2.text).toContain(`mail from ${STRICT} is refused`);
    expect((await mailboxState(prisma, box.id)).messages).toHaveLength(0);
    await ing.ingress.deliveryLog?.flush();
    const log = await prisma.deliveryLogEntry.findMany({ where: { recipient: box.address }, orderBy: { createdAt: 'asc' } });
    expect(log.map((e) => [e.replyCode, e.enhancedCode, e.reason])).toEqual([
      [550, '5.7.26', 'DMARC policy reject'],
      [550, '5.7.26', 'DMARC policy reject'],
    ]);
  });

  it('a list copy failing DMARC is delivered when a trusted ARC sealer saw it pass (RFC 8617 §7.2.1); every other ARC story is refused', async () => {
    const box = await f.mailbox(uniqueName('rcpt'));
    const passed = `${SEALER}; dmarc=pass header.from=${STRICT}; spf=pass smtp.mailfrom=${STRICT}`;
    const send = (message: string) => sendRaw(ing.ports.smtp, `list-bounces@${SEALER}`, box.address, message);
    const trusted = await send(await listCopy(box.address, SEALER, passed));
    expect(trusted.code, trusted.text).toBe(250);
    const ar = fields(await onlyMessage(prisma, box.id)).find((l) => l.startsWith('Authentication-Results:'))!;
    expect(ar).toMatch(/arc=pass /);
    expect(ar).toMatch(/dmarc=fail \(p=REJECT .*arc=pass/);
    const refused = { code: 550, text: `5.7.26 Unauthenticated mail from ${STRICT} is refused by its DMARC policy` };
    // sealed by a host nobody trusts, or by one whose name only ends like the trusted one
    expect(await send(await listCopy(box.address, UNTRUSTED, passed.replace(SEALER, UNTRUSTED)))).toEqual(refused);
    expect(await send(await listCopy(box.address, LOOKALIKE, passed.replace(SEALER, LOOKALIKE)))).toEqual(refused);
    // the trusted sealer saw DMARC fail itself, or vouches for another author's domain
    expect(await send(await listCopy(box.address, SEALER, `${SEALER}; dmarc=fail header.from=${STRICT}`))).toEqual(refused);
    expect(await send(await listCopy(box.address, SEALER, `${SEALER}; dmarc=pass header.from=${GOOD}`))).toEqual(refused);
    // changed after the seal (the chain no longer validates: arc=fail)
    const altered = (await listCopy(box.address, SEALER, passed)).replace('Minutes attached.', 'Pay to IBAN XX00 0000.');
    expect(await send(altered)).toEqual(refused);
    expect((await mailboxState(prisma, box.id)).messages).toHaveLength(1);
    const metric = await ing.ingress.metrics.registry.getSingleMetricAsString('mailroom_ingress_sender_auth_total');
    expect(metric).toContain('method="arc_override",result="pass"} 1');
  });

  it('DNS answers are reused across messages (INGRESS_DNS_CACHE_S): a record changed meanwhile is seen once the cache time is up', async () => {
    const cached = await startIngress(prisma, { senderAuth: { ...checksFor(dns.server).senderAuth, dnsCacheMs: 300_000 } });
    const spfOf = async (port: number) => {
      const box = await f.mailbox(uniqueName('rcpt'));
      expect((await sendRaw(port, `alice@${GOOD}`, box.address, await signedMessage(box.address, 'cached?'))).code).toBe(250);
      const ar = fields(await onlyMessage(prisma, box.id)).find((l) => l.startsWith('Authentication-Results:'))!;
      return /spf=(\w+)/.exec(ar)?.[1];
    };
    try {
      expect(await spfOf(cached.ports.smtp)).toBe('pass');
      // the sender's SPF record changes: the caching ingress keeps the answer it has, the other one asks again
      await dns.setRecords({ ...records, txt: records.txt.map(([n, v]): [string, string] => [n, n === GOOD ? 'v=spf1 -all' : v]) });
      expect(await spfOf(cached.ports.smtp)).toBe('pass');
      expect(await spfOf(ing.ports.smtp)).toBe('fail');
      const metric = await cached.ingress.metrics.registry.getSingleMetricAsString('mailroom_ingress_dns_cache_total');
      const count = (r: string) => Number(new RegExp(`result="${r}"} (\\d+)`).exec(metric)?.[1] ?? 0);
      // the second message asked nothing: every question was answered from the first one's
      expect(count('miss')).toBeGreaterThan(0);
      expect(count('hit')).toBeGreaterThanOrEqual(count('miss'));
    } finally {
      await dns.setRecords(records);
      await cached.close();
    }
  });

  it('a failing message of a p=quarantine domain is delivered marked dmarc=fail (POP3 has no junk folder to put it in)', async () => {
    const box = await f.mailbox(uniqueName('rcpt'));
    const r = await sendRaw(ing.ports.smtp, `news@${SOFT}`, box.address, `From: news@${SOFT}\nSubject: offer\n\nhi\n`);
    expect(r.code).toBe(250);
    const ar = fields(await onlyMessage(prisma, box.id)).find((l) => l.startsWith('Authentication-Results:'))!;
    expect(ar).toMatch(/spf=fail /);
    expect(ar).toMatch(/dmarc=fail \(p=QUARANTINE /);
  });

  it('forged Authentication-Results under our host name are removed (any case, after a comment, folded); other hosts’ stay', async () => {
    const box = await f.mailbox(uniqueName('rcpt'));
    const message = [
      'Authentication-Results: mx.test; dkim=pass header.d=bank.example',
      'Authentication-Results: (forged) MX.TEST;',
      ' spf=pass smtp.mailfrom=ceo@bank.example',
      'Authentication-Results: relay.example; spf=pass smtp.mailfrom=list@relay.example',
      `From: news@${SOFT}`,
      'Subject: forged verdicts',
      '',
      'Authentication-Results: mx.test; in the body, not a header field',
      '',
    ].join('\n');
    expect((await sendRaw(ing.ports.smtp, `news@${SOFT}`, box.address, message)).code).toBe(250);
    const raw = await onlyMessage(prisma, box.id);
    const ars = fields(raw).filter((l) => /^authentication-results:/i.test(l));
    expect(ars).toHaveLength(2);
    expect(ars[0]).toMatch(/^Authentication-Results: mx\.test;.*dmarc=fail/);
    expect(ars[1]).toBe('Authentication-Results: relay.example; spf=pass smtp.mailfrom=list@relay.example');
    expect(raw).not.toContain('bank.example');
    expect(raw).toContain('\r\n\r\nAuthentication-Results: mx.test; in the body, not a header field\r\n');
  });

  it('with INGRESS_DMARC_REJECT=false a p=reject failure is delivered, marked dmarc=fail', async () => {
    const lenient = await startIngress(prisma, checksFor(dns.server, { dmarcReject: false }));
    try {
      const box = await f.mailbox(uniqueName('rcpt'));
      const r = await sendRaw(lenient.ports.smtp, `ceo@${STRICT}`, box.address, `From: ceo@${STRICT}\nSubject: urgent\n\nhi\n`);
      expect(r.code).toBe(250);
      expect(fields(await onlyMessage(prisma, box.id)).find((l) => l.startsWith('Authentication-Results:'))).toMatch(
        /dmarc=fail \(p=REJECT /,
      );
    } finally {
      await lenient.close();
    }
  });

  it('clients in INGRESS_UNCHECKED_CLIENTS (loopback by default) are not checked, and their header fields stay as sent', async () => {
    const trustedRelay = await startIngress(prisma, checksFor(dns.server, { skip: 'loopback' }));
    try {
      const box = await f.mailbox(uniqueName('rcpt'));
      const message = `Authentication-Results: mx.test; dkim=pass header.d=${STRICT}\nFrom: ceo@${STRICT}\nSubject: from our filter\n\nhi\n`;
      expect((await sendRaw(trustedRelay.ports.smtp, `ceo@${STRICT}`, box.address, message)).code).toBe(250);
      const list = fields(await onlyMessage(prisma, box.id));
      expect(list.filter((l) => /^(authentication-results|received-spf):/i.test(l))).toEqual([
        `Authentication-Results: mx.test; dkim=pass header.d=${STRICT}`,
      ]);
    } finally {
      await trustedRelay.close();
    }
  });

  it('a resolver that does not answer costs no mail: delivered with temperror, never refused', async () => {
    const deadPort = await findFreePort();
    const unreachable = await startIngress(prisma, checksFor(`127.0.0.1:${deadPort}`));
    try {
      const box = await f.mailbox(uniqueName('rcpt'));
      const r = await sendRaw(unreachable.ports.smtp, `ceo@${STRICT}`, box.address, `From: ceo@${STRICT}\nSubject: hi\n\nhi\n`);
      expect(r.code).toBe(250);
      const ar = fields(await onlyMessage(prisma, box.id)).find((l) => l.startsWith('Authentication-Results:'))!;
      expect(ar).toMatch(/spf=temperror/);
      expect(ar).toMatch(/dmarc=temperror/);
    } finally {
      await unreachable.close();
    }
  });

  it('a name server that never answers: checks past INGRESS_SENDER_AUTH_TIMEOUT_MS defer the message (451 4.4.3), never deliver it unchecked', async () => {
    // a real UDP socket that takes every query and answers none
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    let queries = 0;
    silent.on('message', () => queries++);
    const slow = await startIngress(prisma, {
      ...checksFor(`127.0.0.1:${silent.address().port}`, { timeoutMs: 300 }),
    });
    try {
      const box = await f.mailbox(uniqueName('rcpt'));
      const r = await sendRaw(slow.ports.smtp, `ceo@${STRICT}`, box.address, `From: ceo@${STRICT}\nSubject: slow\n\nhi\n`);
      expect(r).toEqual({ code: 451, text: '4.4.3 Sender checks timed out, try again later' });
      expect(queries).toBeGreaterThan(0);
      expect((await mailboxState(prisma, box.id)).messages).toHaveLength(0);
      await slow.ingress.deliveryLog?.flush();
      const log = await prisma.deliveryLogEntry.findFirstOrThrow({ where: { recipient: box.address } });
      expect([log.replyCode, log.enhancedCode, log.reason]).toEqual([451, '4.4.3', 'sender checks timed out']);
    } finally {
      await slow.close();
      silent.close();
    }
  });

  it(`a message with many DKIM signatures costs at most ${MAX_DKIM_SIGNATURES} verifications; the message is stored whole`, async () => {
    const box = await f.mailbox(uniqueName('rcpt'));
    const signatures = Array.from(
      { length: 12 },
      (_, i) => `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=sig${i}.${ZONE}; s=s${i}; l=${i + 1}; h=from; bh=AAAA; b=AAAA`,
    );
    const message = [...signatures, `From: news@${SOFT}`, 'Subject: many signatures', '', 'hi', ''].join('\n');
    expect((await sendRaw(ing.ports.smtp, `news@${SOFT}`, box.address, message)).code).toBe(250);
    const raw = await onlyMessage(prisma, box.id);
    const ar = fields(raw).find((l) => l.startsWith('Authentication-Results:'))!;
    const verified = [...ar.matchAll(/dkim=\w+[^;]*header\.i=@(sig\d+)\./g)].map((m) => m[1]);
    expect(verified).toEqual(['sig0', 'sig1', 'sig2', 'sig3', 'sig4']);
    expect(raw.match(/^DKIM-Signature:/gm)).toHaveLength(12);
  });

  it('MAIL FROM a domain that does not exist is deferred (450 4.1.8), from a null MX refused (550 5.7.27); an A record, a bounce and an address literal pass', async () => {
    const c = await WireClient.connect(ing.ports.smtp);
    try {
      expect((await c.command('EHLO client.example')).code).toBe(250);
      expect(await c.command(`MAIL FROM:<someone@nowhere.${ZONE}>`)).toMatchObject({
        code: 450,
        text: '4.1.8 Sender address rejected: Domain not found',
      });
      expect(await c.command(`MAIL FROM:<noreply@${NULL_MX.toUpperCase()}>`)).toMatchObject({
        code: 550,
        text: '5.7.27 Sender address rejected: Domain has null MX',
      });
      for (const from of [`alice@${A_ONLY}`, '', 'alice@[192.0.2.1]']) {
        expect((await c.command(`MAIL FROM:<${from}>`)).code).toBe(250);
        expect((await c.command('RSET')).code).toBe(250);
      }
    } finally {
      await c.quit();
    }
    const metrics = await (await fetch(`http://127.0.0.1:${ing.ports.metrics}/metrics`)).text();
    expect(metrics).toMatch(/mailroom_ingress_sender_auth_total\{method="sender_domain",result="null_mx"\} 1\b/);
  });

  it('LMTP is never checked: its client is the operator’s MTA', async () => {
    const box = await f.mailbox(uniqueName('rcpt'));
    const c = await WireClient.connect(ing.ports.lmtp);
    try {
      expect((await c.command('LHLO mta.example')).code).toBe(250);
      expect((await c.command(`MAIL FROM:<ceo@${STRICT}>`)).code).toBe(250);
      expect((await c.command(`RCPT TO:<${box.address}>`)).code).toBe(250);
      expect((await c.command('DATA')).code).toBe(354);
      c.sendData(Buffer.from(`Authentication-Results: mx.test; spf=pass\r\nFrom: ceo@${STRICT}\r\n\r\nhi\r\n`));
      expect((await c.read()).code).toBe(250);
    } finally {
      await c.quit();
    }
    const list = fields(await onlyMessage(prisma, box.id));
    expect(list.filter((l) => l.startsWith('Authentication-Results:'))).toEqual(['Authentication-Results: mx.test; spf=pass']);
  });
});

describe('safeFields', () => {
  test('a line break smuggled into a quoted value cannot start a field of its own; control characters go', () => {
    const smuggled = 'Authentication-Results: mx.test;\r\n dkim=fail header.s=a\r\nX-Spam-Status: No\r\n\r\nbody\x07\x00;\r\n';
    expect(safeFields(smuggled)).toBe('Authentication-Results: mx.test;\r\n dkim=fail header.s=a\r\n X-Spam-Status: No\r\n body;\r\n');
    const ours = 'Received-SPF: pass (x) client-ip=192.0.2.1;\r\nAuthentication-Results: mx.test;\r\n\tspf=pass\r\n';
    expect(safeFields(ours)).toBe(ours);
  });
});

describe('removeForgedAuthResults', () => {
  const strip = (s: string) => removeForgedAuthResults(Buffer.from(s, 'latin1'), 'mx.test').toString('latin1');

  test('keeps the message as it is (the same buffer) when no field claims our name', () => {
    const body = Buffer.from('Authentication-Results: other.example; none\r\nSubject: x\r\n\r\nAuthentication-Results: mx.test\r\n');
    expect(removeForgedAuthResults(body, 'mx.test')).toBe(body);
  });

  test('removes a folded field whole, a field whose id is only followed by a version, and the last field of the header', () => {
    expect(strip('Subject: a\r\nAuthentication-Results:\r\n\tmx.test 1;\r\n dkim=pass\r\n\r\nbody\r\n')).toBe('Subject: a\r\n\r\nbody\r\n');
    expect(strip('Authentication-Results: mx.test; spf=pass\r\n\r\nbody\r\n')).toBe('\r\nbody\r\n');
  });

  test('a longer host name that starts with ours is someone else’s', () => {
    const s = 'Authentication-Results: mx.test.evil.example; spf=pass\r\nSubject: a\r\n\r\nb\r\n';
    expect(strip(s)).toBe(s);
  });

  test('a message without a blank line (header only) is handled too', () => {
    expect(strip('Subject: a\r\nAuthentication-Results: mx.test; spf=pass\r\n')).toBe('Subject: a\r\n');
  });
});

describe('INGRESS_SENDER_AUTH settings', () => {
  const base = {};

  test('on by default, skipping loopback; MAILROOM_DNS_SERVERS and its timeout are the resolver', () => {
    const c = ingressConfigFromEnv(loadIngressEnv({ ...base, MAILROOM_DNS_SERVERS: '127.0.0.1:5353' }), 'h');
    expect(c.senderAuth?.dmarcReject).toBe(true);
    expect(c.senderAuth?.dns).toEqual({ servers: ['127.0.0.1:5353'], timeoutMs: 5000 });
    expect(c.senderAuth?.timeoutMs).toBe(30_000);
    expect(c.senderAuth?.rejectUnknownSenderDomain).toBe(true);
    expect([c.senderAuth?.skip.has('127.0.0.1'), c.senderAuth?.skip.has('::1'), c.senderAuth?.skip.has('203.0.113.9')]).toEqual([
      true,
      true,
      false,
    ]);
  });

  test('none checks everyone; off turns the checks off; bad values stop the start', () => {
    expect(
      ingressConfigFromEnv(loadIngressEnv({ ...base, INGRESS_UNCHECKED_CLIENTS: 'none' }), 'h').senderAuth?.skip.has('127.0.0.1'),
    ).toBe(false);
    expect(ingressConfigFromEnv(loadIngressEnv({ ...base, INGRESS_SENDER_AUTH: 'false' }), 'h').senderAuth).toBeUndefined();
    expect(() => loadIngressEnv({ ...base, INGRESS_UNCHECKED_CLIENTS: '10.0.0.0/40' })).toThrow(/INGRESS_UNCHECKED_CLIENTS/);
    expect(() => loadIngressEnv({ ...base, INGRESS_DMARC_REJECT: 'maybe' })).toThrow(/INGRESS_DMARC_REJECT/);
  });

  test('ARC sealers: the large providers by default, a list of domains, or none; anything else stops the start', () => {
    const sealers = (v?: string) =>
      ingressConfigFromEnv(loadIngressEnv({ ...base, ...(v === undefined ? {} : { INGRESS_ARC_TRUSTED_SEALERS: v }) }), 'h').senderAuth
        ?.arcTrustedSealers;
    expect(sealers()).toEqual(expect.arrayContaining(['google.com', 'microsoft.com', 'googlegroups.com']));
    expect(sealers(' Lists.Example.org. , google.com ')).toEqual(['lists.example.org', 'google.com']);
    expect(sealers('none')).toEqual([]);
    expect(sealers('')).toEqual([]);
    expect(() => loadIngressEnv({ ...base, INGRESS_ARC_TRUSTED_SEALERS: 'google com' })).toThrow(/INGRESS_ARC_TRUSTED_SEALERS/);
  });
});

describe('the address an SPF pass is probed with', () => {
  test('a random global unicast address of the client’s family, never a private, loopback or multicast one', () => {
    const v4 = Array.from({ length: 2000 }, () => randomProbeAddress('192.0.2.9'));
    const mapped = randomProbeAddress('::ffff:192.0.2.9');
    const v6 = Array.from({ length: 200 }, () => randomProbeAddress('2001:db8::9'));
    for (const a of [...v4, mapped]) {
      const [x, y] = a.split('.').map(Number) as [number, number];
      expect(a).toMatch(/^\d{1,3}(\.\d{1,3}){3}$/);
      expect(x >= 1 && x < 224 && x !== 10 && x !== 127, a).toBe(true);
      expect((x === 172 && y >= 16 && y < 32) || (x === 192 && y === 168) || (x === 169 && y === 254), a).toBe(false);
    }
    for (const a of v6) expect(a).toMatch(/^[23][0-9a-f]{3}(:[0-9a-f]{1,4}){7}$/);
    // random: not one address over and over
    expect(new Set(v4).size).toBeGreaterThan(1990);
  });
});
