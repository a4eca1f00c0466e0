// GET /mailboxes/{id}/sign-ins: the mailbox's sign-in log, written here by the panel's own sign-in (the POP3 rows are
// written by packages/pop3, whose tests cover them; here they come from the same core functions POP3 calls).
import { recordMailboxSignIn, recordPop3SignIn } from '@mailroom/core';
import { newId } from '@mailroom/db';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createKey, createTestApp, createUser, login, type Session, type TestContext, uniqueName } from '../testing.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const PW = 'sign-in log passphrase 7';

async function tenant() {
  const u = await createUser(t);
  const s = await login(t.app, u.email, u.password);
  const domain = `${uniqueName('si')}.example`;
  const d = await t.prisma.domain.create({ data: { name: domain, ownerId: u.id, verifiedAt: new Date() } });
  const hash = await t.hasher.hash(PW);
  const m = await t.prisma.mailbox.create({ data: { id: newId(), domainId: d.id, localPart: 'box', passwordHash: hash } });
  const other = await t.prisma.mailbox.create({ data: { id: newId(), domainId: d.id, localPart: 'other', passwordHash: hash } });
  return { s, userId: u.id, domainId: d.id, domain, mailboxId: m.id, address: `box@${domain}`, otherId: other.id };
}

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

function panelLogin(email: string, password: string, ip: string) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email, password },
    remoteAddress: ip,
    headers: { 'user-agent': FIREFOX },
  });
}

const list = (s: Session | { key: string }, mailboxId: string, q = '') =>
  call(t.app, s, 'GET', `/api/v1/mailboxes/${mailboxId}/sign-ins${q}`);

describe('mailbox sign-in log API', () => {
  test('panel sign-ins of the mailbox user are logged (wrong, right, disabled) and listed newest first with filters', async () => {
    const x = await tenant();
    expect((await panelLogin(x.address, 'wrong password here', '203.0.113.7')).statusCode).toBe(401);
    expect((await panelLogin(x.address, PW, '203.0.113.8')).statusCode).toBe(200);
    // a forged X-Forwarded-For from a client that is no trusted proxy names nobody: the peer is what is logged
    const forged = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: x.address, password: 'forged header attempt' },
      remoteAddress: '203.0.113.30',
      headers: { 'x-forwarded-for': '198.51.100.99' },
    });
    expect(forged.statusCode).toBe(401);
    const forgedWhere = { mailboxId: x.mailboxId, clientAddress: '203.0.113.30' };
    await expect.poll(() => t.prisma.mailboxSignIn.count({ where: forgedWhere })).toBe(1); // written after the 401
    const forgedRow = await t.prisma.mailboxSignIn.findFirstOrThrow({ where: forgedWhere });
    expect(forgedRow.result).toBe('wrong_password');
    expect(await t.prisma.mailboxSignIn.count({ where: { clientAddress: '198.51.100.99' } })).toBe(0);
    await t.prisma.mailboxSignIn.delete({ where: { id: forgedRow.id } });
    // an address of the domain that is no mailbox: the same 401, and no row for any mailbox
    expect((await panelLogin(`nobody@${x.domain}`, PW, '203.0.113.9')).statusCode).toBe(401);
    await t.prisma.mailbox.update({ where: { id: x.mailboxId }, data: { enabled: false } });
    expect((await panelLogin(x.address, PW, '203.0.113.10')).statusCode).toBe(403);
    await t.prisma.mailbox.update({ where: { id: x.mailboxId }, data: { enabled: true } });
    // POP3's two writers (the login path's single statement, and a refusal)
    const phone = await t.prisma.mailboxAppPassword.create({
      data: { mailboxId: x.mailboxId, name: 'phone', selector: 'abcd', passwordHash: 'x' },
    });
    await recordPop3SignIn(t.prisma, {
      mailboxId: x.mailboxId,
      clientAddress: '198.51.100.1',
      tls: true,
      mechanism: 'PLAIN',
      appPasswordId: phone.id,
    });
    await recordMailboxSignIn(t.prisma, {
      mailboxId: x.mailboxId,
      service: 'pop3',
      result: 'login_delay',
      clientAddress: '198.51.100.1',
      tls: false,
      mechanism: 'USER',
    });

    const all = await list(x.s, x.mailboxId);
    expect(all.statusCode, all.body).toBe(200);
    expect(
      all.json().items.map((r: { result: string; service: string; clientAddress: string }) => [r.service, r.result, r.clientAddress]),
    ).toEqual([
      ['pop3', 'login_delay', '198.51.100.1'],
      ['pop3', 'ok', '198.51.100.1'],
      ['panel', 'disabled', '203.0.113.10'],
      ['panel', 'ok', '203.0.113.8'],
      ['panel', 'wrong_password', '203.0.113.7'],
    ]);
    expect(all.json().items[1]).toMatchObject({
      tls: true,
      mechanism: 'PLAIN',
      appPasswordId: phone.id,
      appPasswordName: 'phone',
      mailboxId: x.mailboxId,
      device: null,
    });
    expect(all.json().items[4]).toMatchObject({
      tls: null,
      mechanism: 'password',
      appPasswordId: null,
      appPasswordName: null,
      device: 'Firefox 128 on Linux',
    });
    expect(await t.prisma.mailboxSignIn.count({ where: { mailboxId: x.otherId } })).toBe(0);
    // the POP3 login also stamped the mailbox and the app password
    const m = await t.prisma.mailbox.findUniqueOrThrow({ where: { id: x.mailboxId } });
    expect(m.lastLoginIp).toBe('198.51.100.1');
    expect((await t.prisma.mailboxAppPassword.findUniqueOrThrow({ where: { id: phone.id } })).lastUsedIp).toBe('198.51.100.1');

    const failed = (await list(x.s, x.mailboxId, '?result=failed')).json().items.map((r: { result: string }) => r.result);
    expect(failed).toEqual(['login_delay', 'disabled', 'wrong_password']);
    const panel = (await list(x.s, x.mailboxId, '?service=panel&result=ok')).json().items;
    expect(panel).toHaveLength(1);
    expect(panel[0].clientAddress).toBe('203.0.113.8');
    // pages of two, then the rest, by cursor
    const p1 = (await list(x.s, x.mailboxId, '?limit=2')).json();
    expect(p1.items).toHaveLength(2);
    const p2 = (await list(x.s, x.mailboxId, `?limit=2&cursor=${p1.nextCursor}`)).json();
    const p3 = (await list(x.s, x.mailboxId, `?limit=2&cursor=${p2.nextCursor}`)).json();
    expect([...p1.items, ...p2.items, ...p3.items].map((r: { id: string }) => r.id)).toEqual(
      all.json().items.map((r: { id: string }) => r.id),
    );
    expect(p3.nextCursor).toBeNull();
    // a time range in the future is empty; from after to is refused
    const future = new Date(Date.now() + 86_400_000).toISOString();
    expect((await list(x.s, x.mailboxId, `?from=${future}`)).json().items).toEqual([]);
    const backwards = await list(x.s, x.mailboxId, `?from=${future}&to=${new Date().toISOString()}`);
    expect(backwards.statusCode).toBe(400);
    expect(backwards.json().code).toBe('VALIDATION_FAILED');
  });

  test('the mailbox user reads their own log only; other tenants, restricted keys and bad input are refused', async () => {
    const x = await tenant();
    const y = await tenant();
    expect((await panelLogin(x.address, 'wrong password here', '203.0.113.20')).statusCode).toBe(401);
    const self = await login(t.app, x.address, PW, '203.0.113.21');
    const own = await list(self, x.mailboxId);
    expect(own.statusCode).toBe(200);
    expect(own.json().items.map((r: { result: string }) => r.result)).toEqual(['ok', 'wrong_password']);
    // another mailbox of the same domain, and another tenant's: do not exist for them
    expect((await list(self, x.otherId)).statusCode).toBe(404);
    expect((await list(self, y.mailboxId)).statusCode).toBe(404);
    // owner B sees nothing of A's mailbox; A's read-only key reads it; a key restricted to another domain does not
    expect((await list(y.s, x.mailboxId)).statusCode).toBe(404);
    expect((await list({ key: await createKey(t.prisma, x.userId, ['mailboxes:read']) }, x.mailboxId)).statusCode).toBe(200);
    expect((await list({ key: await createKey(t.prisma, x.userId, ['domains:read']) }, x.mailboxId)).statusCode).toBe(403);
    const elsewhere = await t.prisma.domain.create({
      data: { name: `${uniqueName('si2')}.example`, ownerId: x.userId, verifiedAt: new Date() },
    });
    expect((await list({ key: await createKey(t.prisma, x.userId, ['mailboxes:read'], [elsewhere.id]) }, x.mailboxId)).statusCode).toBe(
      404,
    );
    expect((await call(t.app, null, 'GET', `/api/v1/mailboxes/${x.mailboxId}/sign-ins`)).statusCode).toBe(401);
    // odd input: a 4xx with a stable code, never a 5xx
    for (const q of [
      '?result=nope',
      '?service=imap',
      '?limit=0',
      '?cursor=zzz',
      '?from=yesterday',
      `?cursor=${Buffer.from('{"id":"x"}').toString('base64url')}`,
    ]) {
      const r = await list(x.s, x.mailboxId, q);
      expect(r.statusCode, q).toBe(400);
      expect(r.json().code, q).toBe('VALIDATION_FAILED');
    }
    expect((await list(x.s, 'not-a-uuid')).statusCode).toBe(400);
    expect((await list(x.s, newId())).statusCode).toBe(404);
  });

  test('identical attempts within a day share one entry (attempts, lastAt); another address, result or day makes a new one', async () => {
    const x = await tenant();
    const attempt = { mailboxId: x.mailboxId, service: 'pop3' as const, result: 'wrong_password' as const, tls: true, mechanism: 'USER' };
    // yesterday's run of the same attempts is closed: today's start a new entry
    const dayAgo = new Date(Date.now() - 86_400_000 - 60_000);
    await t.prisma.mailboxSignIn.create({
      data: { id: newId(dayAgo), createdAt: dayAgo, lastAt: dayAgo, ...attempt, clientAddress: '203.0.113.50', attempts: 7 },
    });
    for (let i = 0; i < 3; i++) await recordMailboxSignIn(t.prisma, { ...attempt, clientAddress: '203.0.113.50' });
    await recordMailboxSignIn(t.prisma, { ...attempt, clientAddress: '203.0.113.51' });
    await recordMailboxSignIn(t.prisma, { ...attempt, clientAddress: '203.0.113.50', tls: false });
    for (let i = 0; i < 2; i++)
      await recordPop3SignIn(t.prisma, {
        mailboxId: x.mailboxId,
        clientAddress: '203.0.113.50',
        tls: true,
        mechanism: 'USER',
        appPasswordId: null,
      });
    await recordMailboxSignIn(t.prisma, { ...attempt, clientAddress: '203.0.113.50' });
    const items = (await list(x.s, x.mailboxId)).json().items as {
      result: string;
      clientAddress: string;
      tls: boolean;
      attempts: number;
      createdAt: string;
      lastAt: string;
    }[];
    expect(items.map((r) => [r.result, r.clientAddress, r.tls, r.attempts])).toEqual([
      ['ok', '203.0.113.50', true, 2],
      ['wrong_password', '203.0.113.50', false, 1],
      ['wrong_password', '203.0.113.51', true, 1],
      ['wrong_password', '203.0.113.50', true, 4],
      ['wrong_password', '203.0.113.50', true, 7],
    ]);
    // its last attempt came after the two sign-ins above it
    expect(Date.parse(items[3]!.lastAt)).toBeGreaterThanOrEqual(Date.parse(items[0]!.createdAt));
    // lastAfter reads the latest attempt, not the first: yesterday's entry is out, today's counted one in
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const recent = (await list(x.s, x.mailboxId, `?lastAfter=${hourAgo}`)).json().items as { attempts: number }[];
    expect(recent.map((r) => r.attempts)).toEqual([2, 1, 1, 4]);
    expect((await list(x.s, x.mailboxId, `?lastAfter=${new Date(Date.now() + 60_000).toISOString()}`)).json().items).toEqual([]);
    expect((await list(x.s, x.mailboxId, '?lastAfter=soon')).statusCode).toBe(400);
    // the grouping never reaches into another mailbox's entries
    expect(await t.prisma.mailboxSignIn.count({ where: { mailboxId: x.otherId } })).toBe(0);
  });

  test('deleting the mailbox deletes its log; deleting an app password keeps the rows without it', async () => {
    const x = await tenant();
    await recordMailboxSignIn(t.prisma, {
      mailboxId: x.mailboxId,
      service: 'pop3',
      result: 'wrong_password',
      clientAddress: '::1',
      tls: false,
      mechanism: 'USER',
    });
    expect(await t.prisma.mailboxSignIn.count({ where: { mailboxId: x.mailboxId } })).toBe(1);
    expect((await call(t.app, x.s, 'DELETE', `/api/v1/mailboxes/${x.mailboxId}`)).statusCode).toBe(204);
    expect(await t.prisma.mailboxSignIn.count({ where: { mailboxId: x.mailboxId } })).toBe(0);
  });
});
