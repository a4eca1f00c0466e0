import { execFile } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { summarizeHeader } from '@mailroom/core';
import { createPrismaClientWithPool, type PrismaClient } from '@mailroom/db';
import { testDatabaseUrl } from '@mailroom/db/testing';
import { deliverMessage } from '@mailroom/ingress';
import { startServer, testTls, type TestServer } from '@mailroom/pop3/testing';
import {
  call,
  createKey,
  createTestApp,
  createUser,
  login,
  type Credentials,
  type Session,
  type TestContext,
  uniqueName,
} from '../testing.ts';
import { fetchFromPop3 } from '../transfer/mailbox-transfer.ts';
import { Pop3Client } from '../transfer/pop3-client.ts';

let t: TestContext;
let admin: Session;
let pop3Prisma: PrismaClient;
let pop3: TestServer;
beforeAll(async () => {
  t = await createTestApp();
  const a = await createUser(t, { role: 'ADMIN' });
  admin = await login(t.app, a.email, a.password);
  pop3Prisma = createPrismaClientWithPool(testDatabaseUrl(), { maxConnections: 4, applicationName: 'messages-test-pop3' }).prisma;
  pop3 = await startServer(pop3Prisma);
});
afterAll(async () => {
  await pop3?.close();
  await pop3Prisma?.$disconnect();
  await t?.close();
});

const PW = 'mailbox passphrase 1';

async function tenant(opts: { maxStorageBytes?: bigint } = {}) {
  const o = await createUser(t, opts);
  const s = await login(t.app, o.email, o.password);
  const d = await call(t.app, admin, 'POST', '/api/v1/domains', { name: `${uniqueName('m')}.example`, ownerId: o.id, verified: true });
  expect(d.statusCode, d.body).toBe(201);
  const domain = d.json() as { id: string; name: string };
  const mailbox = async (localPart: string, quotaBytes: number | null = null) => {
    const r = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart, password: PW, quotaBytes });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { id: string; address: string };
  };
  return { owner: o, s, domain, mailbox };
}

async function deliver(address: string, raw: Buffer | string) {
  const r = await deliverMessage(t.prisma, { from: 'sender@example.org', recipients: [address], raw });
  expect(r.recipients[0]!.ok, r.recipients[0]!.reason).toBe(true);
  return r.recipients[0]!.copies[0]!;
}

async function usage(mailboxId: string) {
  const m = await t.prisma.mailbox.findUniqueOrThrow({
    where: { id: mailboxId },
    select: { usedBytes: true, messageCount: true, domain: { select: { usedBytes: true } } },
  });
  const sum = await t.prisma.message.aggregate({ where: { mailboxId }, _sum: { sizeOctets: true }, _count: true });
  return {
    used: Number(m.usedBytes),
    count: m.messageCount,
    domainUsed: Number(m.domain.usedBytes),
    actualBytes: sum._sum.sizeOctets ?? 0,
    actualCount: sum._count,
  };
}

/** Every message of a maildrop through Python's poplib over TLS: RETR lines joined with CRLF. */
async function poplibRetrAll(address: string, password: string): Promise<Buffer[]> {
  const script = `
import poplib, ssl, sys, json, base64
poplib._MAXLINE = 1 << 20
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3_SSL('127.0.0.1', int(sys.argv[1]), context=ctx)
p.user(sys.argv[2]); p.pass_(sys.argv[3])
out = []
for i in range(1, len(p.list()[1]) + 1):
    out.append(base64.b64encode(b'\\r\\n'.join(p.retr(i)[1]) + b'\\r\\n').decode())
p.quit()
print(json.dumps(out))
`;
  // asynchronously: the POP3 server answering it runs in this process
  const r = await promisify(execFile)('python3', ['-c', script, String(pop3.tlsPort), address, password], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return (JSON.parse(r.stdout) as string[]).map((b) => Buffer.from(b, 'base64'));
}

describe('listing', () => {
  test('awkward headers: encoded-words in several charsets, folding, missing and invalid fields, 8-bit raw headers', () => {
    const h = (s: string | Buffer) => summarizeHeader(Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1'));
    expect(
      h(
        'From: =?UTF-8?B?SsO8cmdlbg==?= <j@example.org>\r\nSubject: =?ISO-8859-1?Q?Gr=FC=DFe?= aus =?UTF-8?Q?K=C3=B6ln?=\r\nDate: Tue, 1 Dec 2026 03:21:47 +0100\r\n\r\nbody',
      ),
    ).toEqual({
      from: 'Jürgen <j@example.org>',
      fromAddress: 'j@example.org',
      subject: 'Grüße aus Köln',
      date: '2026-12-01T02:21:47.000Z',
    });
    expect(h('Subject: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\r\nFrom: =?windows-1251?B?wOvl6vHg7eTw?= <a@example.org>\r\n\r\n')).toMatchObject(
      { subject: 'テスト', from: 'Александр <a@example.org>' },
    );
    expect(h('Subject: a long\r\n folded\r\n\tsubject\r\nFrom: x@example.org\r\nDate: not a date\r\n\r\n')).toEqual({
      from: 'x@example.org',
      fromAddress: 'x@example.org',
      subject: 'a long folded\tsubject'.replace('\t', ' '),
      date: null,
    });
    expect(h('X-Other: 1\r\n\r\nSubject: in the body')).toEqual({ from: null, fromAddress: null, subject: null, date: null });
    // the address a sender rule would match: past an encoded display name with a comma, a comment, a group; none in an empty group
    expect(h('From: =?utf-8?q?Doe,_Jane?= <Jane@Example.org> (work)\r\n\r\n').fromAddress).toBe('Jane@Example.org');
    expect(h('From: Team: a@one.example, b@two.example;\r\n\r\n').fromAddress).toBe('a@one.example');
    expect(h('From: undisclosed-recipients:;\r\n\r\n')).toMatchObject({ from: 'undisclosed-recipients:;', fromAddress: null });
    expect(h(Buffer.from('Subject: raw UTF-8 Überweisung\r\n\r\n', 'utf8')).subject).toBe('raw UTF-8 Überweisung');
    expect(h(Buffer.from('Subject: raw Latin-1 \xdcberweisung\r\n\r\n', 'latin1')).subject).toBe('raw Latin-1 Überweisung');
    expect(h('Date: Tue, 1 Dec 2026 03:21:47 +0000 (UTC)\r\nSubject: =?bogus-charset?Q?x?=\r\n\r\n').date).toBe('2026-12-01T03:21:47.000Z');
  });

  test('lists from the header only, in POP3 order, with cursor pagination, size and received time', async () => {
    const { s, mailbox } = await tenant();
    const mb = await mailbox('list');
    const big = `Subject: =?UTF-8?B?w5xiZXJncm/Dnw==?=\r\nFrom: a@example.org\r\n\r\n${'x'.repeat(200_000)}\r\n`;
    await deliver(mb.address, big);
    await deliver(mb.address, 'Subject: second\r\n\r\nhi\r\n');
    await deliver(mb.address, 'From: c@example.org\r\n\r\nno subject\r\n');
    const p1 = await call(t.app, s, 'GET', `/api/v1/mailboxes/${mb.id}/messages?limit=2`);
    expect(p1.statusCode, p1.body).toBe(200);
    const page1 = p1.json();
    expect(page1.items.map((m: { subject: string }) => m.subject)).toEqual(['Übergroß', 'second']);
    expect(page1.items[0].sizeOctets).toBeGreaterThan(200_000);
    expect(page1.items[0].uid).toBe(1);
    expect(Date.parse(page1.items[0].receivedAt)).not.toBeNaN();
    const p2 = (await call(t.app, s, 'GET', `/api/v1/mailboxes/${mb.id}/messages?limit=2&cursor=${page1.nextCursor}`)).json();
    // the envelope sender beside the author: what "Block sender" offers when the two differ
    expect(p2.items).toMatchObject([
      { subject: null, from: 'c@example.org', fromAddress: 'c@example.org', envelopeFrom: 'sender@example.org', uid: 3 },
    ]);
    expect(p2.nextCursor).toBeNull();
    const bad = await call(t.app, s, 'GET', `/api/v1/mailboxes/${mb.id}/messages?cursor=garbage`);
    expect(bad.statusCode).toBe(400);
  });
});

describe('deletion', () => {
  test('delete selected and purge keep mailbox and domain usage exact, in the same transaction', async () => {
    const { s, mailbox } = await tenant();
    const mb = await mailbox('del');
    const a = await deliver(mb.address, 'Subject: a\r\n\r\none\r\n');
    await deliver(mb.address, 'Subject: b\r\n\r\ntwo two\r\n');
    await deliver(mb.address, 'Subject: c\r\n\r\nthree three three\r\n');
    const res = await call(t.app, s, 'POST', `/api/v1/mailboxes/${mb.id}/messages/delete`, { ids: [a.messageId] });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ deleted: 1, bytes: a.sizeOctets });
    let u = await usage(mb.id);
    expect(u).toMatchObject({ count: 2, actualCount: 2, used: u.actualBytes, domainUsed: u.actualBytes });
    const purge = await call(t.app, s, 'DELETE', `/api/v1/mailboxes/${mb.id}/messages`);
    expect(purge.json()).toMatchObject({ deleted: 2 });
    u = await usage(mb.id);
    expect(u).toEqual({ used: 0, count: 0, domainUsed: 0, actualBytes: 0, actualCount: 0 });
    const audit = await t.prisma.auditEvent.findMany({
      where: { targetId: mb.id, action: { startsWith: 'mailbox.messages.' } },
      orderBy: { createdAt: 'asc' },
    });
    expect(audit.map((e) => e.action)).toEqual(['mailbox.messages.delete', 'mailbox.messages.purge']);
  });

  test('a burst of concurrent deletions of the same messages counts each message once', async () => {
    const { s, mailbox } = await tenant();
    const mb = await mailbox('burst');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await deliver(mb.address, `Subject: ${i}\r\n\r\n${'b'.repeat(100 * i)}\r\n`)).messageId);
    const results = await Promise.all([
      ...Array.from({ length: 6 }, () => call(t.app, s, 'POST', `/api/v1/mailboxes/${mb.id}/messages/delete`, { ids: ids.slice(0, 4) })),
      call(t.app, s, 'DELETE', `/api/v1/mailboxes/${mb.id}/messages`),
    ]);
    for (const r of results) expect(r.statusCode, r.body).toBe(200);
    expect(results.reduce((n, r) => n + (r.json() as { deleted: number }).deleted, 0)).toBe(6);
    expect(await usage(mb.id)).toEqual({ used: 0, count: 0, domainUsed: 0, actualBytes: 0, actualCount: 0 });
  });

  test('while a POP3 session holds the maildrop, delete and purge answer 409 MAILBOX_IN_USE and change nothing; after QUIT they work', async () => {
    const { s, mailbox } = await tenant();
    const mb = await mailbox('locked');
    const m = await deliver(mb.address, 'Subject: held\r\n\r\nbody\r\n');
    const client = await Pop3Client.connect({ host: '127.0.0.1', port: pop3.tlsPort, implicitTls: true }, { insecure: true });
    await client.login(mb.address, PW);
    try {
      const del = await call(t.app, s, 'POST', `/api/v1/mailboxes/${mb.id}/messages/delete`, { ids: [m.messageId] });
      expect(del.statusCode).toBe(409);
      expect(del.json()).toMatchObject({ code: 'MAILBOX_IN_USE' });
      expect(del.json().detail).toMatch(/POP3 session/);
      expect((await call(t.app, s, 'DELETE', `/api/v1/mailboxes/${mb.id}/messages`)).statusCode).toBe(409);
      expect((await usage(mb.id)).count).toBe(1);
    } finally {
      await client.quit();
    }
    const after = await call(t.app, s, 'POST', `/api/v1/mailboxes/${mb.id}/messages/delete`, { ids: [m.messageId] });
    expect(after.json()).toEqual({ deleted: 1, bytes: m.sizeOctets });
  });
});

describe('download and isolation', () => {
  test('.eml streams the stored octets as an attachment with a safe file name', async () => {
    const { s, mailbox } = await tenant();
    const mb = await mailbox('eml');
    const m = await deliver(mb.address, Buffer.from('Subject: =?UTF-8?Q?caf=C3=A9?=\r\n\r\n8-bit caf\xe9 \u00fc\r\n', 'latin1'));
    const res = await call(t.app, s, 'GET', `/api/v1/mailboxes/${mb.id}/messages/${m.messageId}/eml`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('message/rfc822');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="[A-Za-z0-9._-]+\.eml"$/);
    const stored = await t.prisma.message.findUniqueOrThrow({ where: { id: m.messageId } });
    expect(res.rawPayload.equals(Buffer.from(stored.raw))).toBe(true);
    // a large message (its body stored in message_parts): the whole of it, trace fields first
    const big = await deliver(mb.address, `Subject: big\r\n\r\n${'0123456789abcdef\r\n'.repeat(20_000)}`);
    const whole = await t.prisma.$queryRaw<{ b: Uint8Array }[]>`SELECT message_octets(${big.messageId}::uuid) AS b`;
    const parts = await t.prisma.messagePart.count({ where: { messageId: big.messageId } });
    expect(parts).toBeGreaterThan(40);
    const bigRes = await call(t.app, s, 'GET', `/api/v1/mailboxes/${mb.id}/messages/${big.messageId}/eml`);
    expect(bigRes.statusCode).toBe(200);
    expect(bigRes.rawPayload.length).toBe(big.sizeOctets);
    expect(bigRes.rawPayload.equals(Buffer.from(whole[0]!.b))).toBe(true);
    expect(bigRes.rawPayload.subarray(-40).toString()).toBe('0123456789abcdef\r\n'.repeat(20_000).slice(-40));
  });

  test('other tenants, restricted keys and other mailbox users get 404; the mailbox user and admins reach it; read-only keys cannot delete', async () => {
    const victim = await tenant();
    const mb = await victim.mailbox('victim');
    const m = await deliver(mb.address, 'Subject: secret\r\n\r\nsecret\r\n');
    const attacker = await tenant();
    const other = await attacker.mailbox('other');
    const own = await deliver(other.address, 'Subject: mine\r\n\r\nmine\r\n');
    const restrictedKey = {
      key: await createKey(t.prisma, attacker.owner.id, ['mailboxes:read', 'mailboxes:write'], [attacker.domain.id]),
    };
    const second = await call(t.app, admin, 'POST', '/api/v1/domains', {
      name: `${uniqueName('m2')}.example`,
      ownerId: victim.owner.id,
      verified: true,
    });
    const victimKeyOtherDomain = {
      key: await createKey(t.prisma, victim.owner.id, ['mailboxes:read', 'mailboxes:write'], [second.json().id]),
    };
    const mailboxUser = await login(t.app, other.address, PW);
    const base = `/api/v1/mailboxes/${mb.id}`;
    const attempts: [string, 'GET' | 'POST' | 'DELETE', unknown?][] = [
      [`${base}/messages`, 'GET'],
      [`${base}/messages/delete`, 'POST', { ids: [m.messageId] }],
      [`${base}/messages`, 'DELETE'],
      [`${base}/messages/${m.messageId}/eml`, 'GET'],
      [`${base}/mbox`, 'GET'],
    ];
    for (const creds of [attacker.s, restrictedKey, victimKeyOtherDomain, mailboxUser] as Credentials[]) {
      for (const [url, method, body] of attempts) {
        const res = await call(t.app, creds, method, url, body);
        expect(res.statusCode, `${method} ${url}`).toBe(404);
      }
      const imp = await t.app.inject({
        method: 'POST',
        url: `${base}/mbox`,
        headers: { ...authOf(creds), 'content-type': 'application/mbox' },
        payload: 'From x Tue Dec  1 03:21:47 2026\n\nhi\n',
      });
      expect(imp.statusCode).toBe(404);
    }
    // another mailbox's message id under one's own mailbox: not found / not deleted
    expect((await call(t.app, mailboxUser, 'GET', `/api/v1/mailboxes/${other.id}/messages/${m.messageId}/eml`)).statusCode).toBe(404);
    expect(
      (await call(t.app, mailboxUser, 'POST', `/api/v1/mailboxes/${other.id}/messages/delete`, { ids: [m.messageId] })).json(),
    ).toEqual({ deleted: 0, bytes: 0 });
    expect((await usage(mb.id)).count).toBe(1);
    // the mailbox user sees and deletes its own mail; an admin sees the victim's
    expect((await call(t.app, mailboxUser, 'GET', `/api/v1/mailboxes/${other.id}/messages`)).json().items).toMatchObject([
      { id: own.messageId },
    ]);
    expect((await call(t.app, admin, 'GET', `${base}/messages`)).json().items).toMatchObject([{ id: m.messageId }]);
    const readOnly = { key: await createKey(t.prisma, victim.owner.id, ['mailboxes:read']) };
    expect((await call(t.app, readOnly, 'GET', `${base}/messages`)).statusCode).toBe(200);
    expect((await call(t.app, readOnly, 'DELETE', `${base}/messages`)).statusCode).toBe(403);
    expect(
      (await call(t.app, mailboxUser, 'POST', `/api/v1/mailboxes/${other.id}/messages/delete`, { ids: [own.messageId] })).json(),
    ).toMatchObject({ deleted: 1 });
  });
});

function authOf(creds: Credentials): Record<string, string> {
  if (!creds) return {};
  if ('key' in creds) return { authorization: `Bearer ${creds.key}` };
  return { cookie: creds.cookie, 'x-csrf-token': creds.csrf };
}

const AWKWARD = [
  Buffer.from('From: a@example.org\r\nSubject: 8-bit\r\n\r\nGr\xfc\xdfe, caf\xe9 \xff\x00\x80 bytes\r\n', 'latin1'),
  Buffer.from(`Subject: long line\r\n\r\n${'L'.repeat(20_000)}\r\nshort\r\n`),
  Buffer.from(
    'Subject: from lines\r\n\r\nFrom the start of a line\r\n>From quoted once\r\n>>From quoted twice\r\n\r\nFrom after an empty line\r\nFrom\r\n',
  ),
  Buffer.from('Subject: no final newline\r\n\r\nlast line without CRLF'),
  Buffer.from('Subject: ends with empty lines\r\n\r\nbody\r\n\r\n\r\n'),
];

describe('mbox', () => {
  test('round trip: export → import into another mailbox → POP3 RETR (Python poplib) gives the same bytes', async () => {
    const { s, mailbox } = await tenant();
    const src = await mailbox('src');
    const dst = await mailbox('dst');
    for (const raw of AWKWARD) await deliver(src.address, raw);
    const exp = await call(t.app, s, 'GET', `/api/v1/mailboxes/${src.id}/mbox`);
    expect(exp.statusCode).toBe(200);
    expect(exp.headers['content-type']).toBe('application/mbox');
    expect(exp.headers['content-disposition']).toMatch(/^attachment; filename="[A-Za-z0-9._-]+\.mbox"$/);
    const file = exp.rawPayload;
    expect(file.toString('latin1')).toContain('\n>From the start of a line\n>>From quoted once\n>>>From quoted twice\n');
    expect(file.includes('\r\n')).toBe(false);

    const imp = await t.app.inject({
      method: 'POST',
      url: `/api/v1/mailboxes/${dst.id}/mbox`,
      headers: { ...authOf(s), 'content-type': 'application/mbox' },
      payload: file,
    });
    expect(imp.statusCode, imp.body).toBe(200);
    expect(imp.json().imported).toBe(AWKWARD.length);

    const before = await poplibRetrAll(src.address, PW);
    const after = await poplibRetrAll(dst.address, PW);
    expect(after.length).toBe(AWKWARD.length);
    for (let i = 0; i < before.length; i++) expect(after[i]!.equals(before[i]!), `message ${i}`).toBe(true);
    // stored octets: identical, except that the message without a final newline comes back with one (documented)
    const rows = async (id: string) =>
      await t.prisma.message.findMany({ where: { mailboxId: id }, orderBy: { uid: 'asc' }, select: { raw: true, receivedAt: true } });
    const [a, b] = [await rows(src.id), await rows(dst.id)];
    for (let i = 0; i < a.length; i++) {
      const expected = i === 3 ? Buffer.concat([Buffer.from(a[i]!.raw), Buffer.from('\r\n')]) : Buffer.from(a[i]!.raw);
      expect(Buffer.from(b[i]!.raw).equals(expected), `message ${i}`).toBe(true);
      expect(Math.floor(b[i]!.receivedAt.getTime() / 1000)).toBe(Math.floor(a[i]!.receivedAt.getTime() / 1000));
    }
    const u = await usage(dst.id);
    expect(u).toMatchObject({ count: AWKWARD.length, used: u.actualBytes });
  });

  test('mboxo import unquotes only ">From "; a file that is not an mbox is 400; quota stops the import with 422 and a count', async () => {
    const { s, mailbox } = await tenant();
    const mb = await mailbox('mboxo', 200);
    const post = (payload: string, query = '') =>
      t.app.inject({
        method: 'POST',
        url: `/api/v1/mailboxes/${mb.id}/mbox${query}`,
        headers: { ...authOf(s), 'content-type': 'application/mbox' },
        payload,
      });
    const ok = await post('From someone@example.org Tue Dec  1 03:21:47 2026\nSubject: o\n\n>From one\n>>From two\n', '?format=mboxo');
    expect(ok.statusCode, ok.body).toBe(200);
    const stored = await t.prisma.message.findFirstOrThrow({ where: { mailboxId: mb.id } });
    expect(Buffer.from(stored.raw).toString()).toBe('Subject: o\r\n\r\nFrom one\r\n>>From two\r\n');
    expect(stored.envelopeFrom).toBe('someone@example.org');
    expect(stored.receivedAt.toISOString()).toBe('2026-12-01T03:21:47.000Z');
    const notMbox = await post('Subject: plain message\n\nhello\n');
    expect(notMbox.statusCode).toBe(400);
    expect(notMbox.json().code).toBe('VALIDATION_FAILED');
    const full = await post(
      `From a Tue Dec  1 03:21:47 2026\n\n${'x'.repeat(100)}\n\nFrom b Tue Dec  1 03:21:47 2026\n\n${'y'.repeat(100)}\n`,
    );
    expect(full.statusCode).toBe(422);
    expect(full.json()).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { imported: 1, scope: 'mailbox' } });
    const wrongType = await t.app.inject({
      method: 'POST',
      url: `/api/v1/mailboxes/${mb.id}/mbox`,
      headers: { ...authOf(s), 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(wrongType.statusCode).toBe(415);
    const u = await usage(mb.id);
    expect(u).toMatchObject({ count: 2, used: u.actualBytes });
  });

  test('abuse: a mailbox user uploading millions of empty lines holds about the message size in memory, not an object per line', async () => {
    const { mailbox } = await tenant();
    const mb = await mailbox('lines', 1_000);
    const mailboxUser = await login(t.app, mb.address, PW);
    // 3 MiB of bare LFs: one 6 MiB message (CRLF), under the 50 MiB message limit; the upload is read chunk by chunk
    const chunk = Buffer.alloc(64 * 1024, 0x0a);
    const base = process.memoryUsage().heapUsed;
    let peak = 0;
    async function* upload() {
      yield Buffer.from('From someone@example.org Tue Dec  1 03:21:47 2026\n');
      for (let i = 0; i < 48; i++) {
        // the lines of the chunks before this one are held by the importer now
        peak = Math.max(peak, process.memoryUsage().heapUsed - base);
        yield chunk;
      }
    }
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/mailboxes/${mb.id}/mbox`,
      headers: { ...authOf(mailboxUser), 'content-type': 'application/mbox' },
      payload: Readable.from(upload()),
    });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json()).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { imported: 0 } });
    // an object per line costs ~250 bytes each (≈ 750 MiB here; 50 MiB of LFs would exhaust the API's heap)
    expect(peak).toBeLessThan(128 * 1024 * 1024);
    expect((await usage(mb.id)).count).toBe(0);
  });

  test('abuse: empty messages (0 octets, so no quota stops them) are refused; nothing is stored', async () => {
    const { mailbox } = await tenant();
    const mb = await mailbox('empty', 100);
    const mailboxUser = await login(t.app, mb.address, PW);
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/mailboxes/${mb.id}/mbox`,
      headers: { ...authOf(mailboxUser), 'content-type': 'application/mbox' },
      payload: 'From a Tue Dec  1 03:21:47 2026\n\n'.repeat(2_000),
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: { imported: 0 } });
    expect(await usage(mb.id)).toMatchObject({ count: 0, actualCount: 0 });
  });
});

describe('fetch from another POP3 server', () => {
  test('copies every message over TLS (pop3s and pop3 + STLS), is safe to re-run, and --delete empties the source', async () => {
    const { mailbox } = await tenant();
    const src = await mailbox('fetch-src');
    const dst = await mailbox('fetch-dst');
    for (const raw of AWKWARD) await deliver(src.address, raw);
    const system = { principal: { kind: 'system' as const, label: 'test' } };
    const tls = { insecure: true };
    const first = await fetchFromPop3(t.prisma, system, dst.id, {
      source: { host: '127.0.0.1', port: pop3.tlsPort, implicitTls: true },
      user: src.address,
      password: PW,
      tls,
    });
    expect(first).toMatchObject({ total: AWKWARD.length, copied: AWKWARD.length, skipped: 0, deleted: 0 });
    const again = await fetchFromPop3(t.prisma, system, dst.id, {
      source: { host: '127.0.0.1', port: pop3.tlsPort, implicitTls: true },
      user: src.address,
      password: PW,
      tls,
    });
    expect(again).toMatchObject({ copied: 0, skipped: AWKWARD.length });
    expect(await poplibRetrAll(dst.address, PW)).toEqual(await poplibRetrAll(src.address, PW));
    // pop3:// upgrades with STLS; --delete removes what was copied (here: by the first run)
    const del = await fetchFromPop3(t.prisma, system, dst.id, {
      source: { host: '127.0.0.1', port: pop3.port, implicitTls: false },
      user: src.address,
      password: PW,
      tls,
      delete: true,
    });
    expect(del).toMatchObject({ copied: 0, skipped: AWKWARD.length, deleted: AWKWARD.length });
    expect((await usage(src.id)).count).toBe(0);
    expect((await usage(dst.id)).count).toBe(AWKWARD.length);
    // a wrong password copies nothing
    await expect(
      fetchFromPop3(t.prisma, system, dst.id, {
        source: { host: '127.0.0.1', port: pop3.tlsPort, implicitTls: true },
        user: src.address,
        password: 'wrong',
        tls,
      }),
    ).rejects.toThrow(/PASS refused/);
    // certificates are verified unless told otherwise
    await expect(
      fetchFromPop3(t.prisma, system, dst.id, {
        source: { host: '127.0.0.1', port: pop3.tlsPort, implicitTls: true },
        user: src.address,
        password: PW,
      }),
    ).rejects.toThrow(/certificate/i);
  });

  test('abuse: a hostile source serving empty messages stores nothing, and the source is not told to delete', async () => {
    // The attacker runs the source server: it lists 500 messages and answers every RETR with 0 octets (no quota
    // would stop them). A real TLS socket speaking just enough POP3; the client under test is ours.
    const { cert, key } = await testTls();
    const received: string[] = [];
    const hostile = tls.createServer({ cert, key }, (socket) => {
      socket.write('+OK hostile\r\n');
      let pending = '';
      socket.on('data', (chunk: Buffer) => {
        pending += chunk.toString('latin1');
        for (let i = pending.indexOf('\r\n'); i >= 0; i = pending.indexOf('\r\n')) {
          const line = pending.slice(0, i);
          pending = pending.slice(i + 2);
          const verb = line.split(' ')[0]!.toUpperCase();
          received.push(verb);
          if (verb === 'UIDL') socket.write(`+OK\r\n${Array.from({ length: 500 }, (_, k) => `${k + 1} u${k + 1}\r\n`).join('')}.\r\n`);
          else if (verb === 'RETR') socket.write('+OK 0 octets\r\n.\r\n');
          else if (verb === 'QUIT') socket.end('+OK bye\r\n');
          else socket.write('+OK\r\n');
        }
      });
      socket.on('error', () => {});
    });
    hostile.listen(0, '127.0.0.1');
    await once(hostile, 'listening');
    try {
      const { mailbox } = await tenant();
      const dst = await mailbox('fetch-hostile', 100);
      const system = { principal: { kind: 'system' as const, label: 'test' } };
      await expect(
        fetchFromPop3(t.prisma, system, dst.id, {
          source: { host: '127.0.0.1', port: (hostile.address() as AddressInfo).port, implicitTls: true },
          user: 'victim',
          password: 'anything',
          tls: { insecure: true },
          delete: true,
        }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: { total: 500, copied: 0 } });
      expect(await usage(dst.id)).toMatchObject({ count: 0, actualCount: 0, used: 0 });
      expect(await t.prisma.pop3FetchedMessage.count({ where: { mailboxId: dst.id } })).toBe(0);
      // refused at the first message: neither DELE nor QUIT (which would commit a DELE) reached the source
      expect(received.filter((v) => v === 'RETR')).toHaveLength(1);
      expect(received).not.toContain('DELE');
      expect(received).not.toContain('QUIT');
    } finally {
      hostile.close();
    }
  });
});
