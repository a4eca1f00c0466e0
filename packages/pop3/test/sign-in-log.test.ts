// The mailbox's sign-in log as POP3 writes it: every attempt that reached a mailbox's credentials, with its result,
// how it came (TLS, USER or AUTH PLAIN, an app password) and from where; never an attempt for an unknown address.
import { createAppPassword, type Actor } from '@mailroom/core';
import type { PrismaClient } from '@mailroom/db';
import { describe, expect, it } from 'vitest';
import { AUTH_FAILED, createMaildrop, Pop3TestClient, testHasher, useTestServer, withServer, type TestServer } from './helpers.ts';

const SYSTEM: Actor = { principal: { kind: 'system', label: 'pop3-test' } };
const plain = (user: string, password: string) => Buffer.from(`\0${user}\0${password}`).toString('base64');

let prisma: PrismaClient;
let srv: TestServer;
useTestServer((started) => ({ prisma, srv } = started));

async function signIns(mailboxId: string) {
  const rows = await prisma.mailboxSignIn.findMany({ where: { mailboxId }, orderBy: { id: 'asc' } });
  return rows.map((r) => ({
    service: r.service,
    result: r.result,
    clientAddress: r.clientAddress,
    tls: r.tls,
    mechanism: r.mechanism,
    appPasswordId: r.appPasswordId,
  }));
}

const row = (result: string, tls: boolean, mechanism: string, appPasswordId: string | null = null) => ({
  service: 'pop3',
  result,
  clientAddress: '127.0.0.1',
  tls,
  mechanism,
  appPasswordId,
});

describe('the sign-in log written by POP3', () => {
  it('a wrong password (USER/PASS) and a right one over STLS with AUTH PLAIN; an unknown address logs nothing', async () => {
    const md = await createMaildrop(prisma);
    const c = await Pop3TestClient.connect(srv.port);
    await c.greeting();
    expect(await c.login(md.address, 'not-the-password')).toBe(AUTH_FAILED);
    expect(await c.cmd('STLS')).toBe('+OK Begin TLS negotiation now.');
    await c.startTls();
    expect(await c.cmd(`AUTH PLAIN ${plain(md.address.toUpperCase(), md.password)}`)).toBe('+OK Logged in.');
    expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    await c.closed();
    // the same domain, names that are no mailbox: the same answer, and nothing to log it against
    expect(await loginReply(srv.port, `nobody@${md.domain}`, 'not-the-password')).toBe(AUTH_FAILED);
    expect(await loginReply(srv.port, `${md.localPart}+tag@${md.domain}`, md.password)).toBe(AUTH_FAILED);
    expect(await signIns(md.mailboxId)).toEqual([row('wrong_password', false, 'USER'), row('ok', true, 'PLAIN')]);
    const m = await prisma.mailbox.findUniqueOrThrow({ where: { id: md.mailboxId } });
    expect(m.lastLoginIp).toBe('127.0.0.1');
    expect(m.lastLoginAt).not.toBeNull();
  });

  it('an app password over implicit TLS is named, and its last use is recorded with the sign-in', async () => {
    const md = await createMaildrop(prisma);
    const phone = await createAppPassword({ prisma, hasher: testHasher() }, SYSTEM, md.mailboxId, { name: 'phone' });
    const c = await Pop3TestClient.connect(srv.tlsPort, { tls: true });
    await c.greeting();
    expect(await c.login(md.address, phone.password)).toBe('+OK Logged in.');
    c.destroy();
    expect(await signIns(md.mailboxId)).toEqual([row('ok', true, 'USER', phone.id)]);
    const ap = await prisma.mailboxAppPassword.findUniqueOrThrow({ where: { id: phone.id } });
    expect(ap.lastUsedIp).toBe('127.0.0.1');
    expect(ap.lastUsedAt).not.toBeNull();
    // deleting the app password keeps the sign-in, without the reference
    await prisma.mailboxAppPassword.delete({ where: { id: phone.id } });
    expect(await signIns(md.mailboxId)).toEqual([row('ok', true, 'USER', null)]);
  });

  it('refusals after the password: disabled, app passwords required, LOGIN-DELAY, in use', async () => {
    const disabled = await createMaildrop(prisma, { enabled: false });
    expect(await loginReply(srv.port, disabled.address, disabled.password)).toBe('-ERR [AUTH] Account is disabled.');
    expect(await signIns(disabled.mailboxId)).toEqual([row('disabled', false, 'USER')]);

    const appOnly = await createMaildrop(prisma);
    await prisma.mailbox.update({ where: { id: appOnly.mailboxId }, data: { pop3AppPasswordsRequired: true } });
    expect(await loginReply(srv.port, appOnly.address, appOnly.password)).toMatch(/^-ERR \[AUTH\] This mailbox accepts only app passwords/);
    expect(await signIns(appOnly.mailboxId)).toEqual([row('app_password_required', false, 'USER')]);

    const busy = await createMaildrop(prisma);
    const holder = await Pop3TestClient.connect(srv.port);
    await holder.greeting();
    expect(await holder.login(busy.address, busy.password)).toBe('+OK Logged in.');
    expect(await loginReply(srv.port, busy.address, busy.password)).toMatch(/^-ERR \[IN-USE\]/);
    holder.destroy();
    expect(await signIns(busy.mailboxId)).toEqual([row('ok', false, 'USER'), row('in_use', false, 'USER')]);

    await withServer(prisma, { loginDelaySeconds: 600 }, async (delayed) => {
      const md = await createMaildrop(prisma);
      expect(await loginReply(delayed.port, md.address, md.password)).toBe('+OK Logged in.');
      expect(await loginReply(delayed.port, md.address, md.password)).toMatch(/^-ERR \[LOGIN-DELAY\]/);
      expect(await signIns(md.mailboxId)).toEqual([row('ok', false, 'USER'), row('login_delay', false, 'USER')]);
    });
  });

  it('a guesser retrying from one address fills one entry (its attempts counted), not one row per attempt', async () => {
    const md = await createMaildrop(prisma);
    for (let i = 0; i < 3; i++) expect(await loginReply(srv.port, md.address, `guess-${i}`)).toBe(AUTH_FAILED);
    expect(await loginReply(srv.port, md.address, md.password)).toBe('+OK Logged in.');
    expect(await loginReply(srv.port, md.address, md.password)).toBe('+OK Logged in.');
    const rows = () => prisma.mailboxSignIn.findMany({ where: { mailboxId: md.mailboxId }, orderBy: { id: 'asc' } });
    await expect
      .poll(async () => (await rows()).map((r) => [r.result, r.attempts]))
      .toEqual([
        ['wrong_password', 3],
        ['ok', 2],
      ]);
  });

  it('a disabled mailbox with a wrong password logs a wrong password, not "disabled" (no hint the account exists)', async () => {
    const md = await createMaildrop(prisma, { enabled: false });
    expect(await loginReply(srv.port, md.address, 'not-the-password')).toBe(AUTH_FAILED);
    // written after the -ERR (so that it cannot slow the reply): it arrives shortly after
    await expect.poll(() => signIns(md.mailboxId)).toEqual([row('wrong_password', false, 'USER')]);
  });

  it('a wrong password is replied to before its log entry is written (no timing difference from an unknown address)', async () => {
    const md = await createMaildrop(prisma);
    // the log's table locked: a write to it waits; the -ERR must not
    await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`LOCK TABLE mailbox_sign_ins IN EXCLUSIVE MODE`;
      expect(await loginReply(srv.port, md.address, 'not-the-password')).toBe(AUTH_FAILED);
      expect(await tx.mailboxSignIn.count({ where: { mailboxId: md.mailboxId } })).toBe(0);
    });
    await expect.poll(() => signIns(md.mailboxId)).toEqual([row('wrong_password', false, 'USER')]);
  });
});

/** One connection, one USER/PASS login; the session is left to close with the socket (no QUIT, nothing deleted). */
async function loginReply(port: number, user: string, password: string): Promise<string> {
  const c = await Pop3TestClient.connect(port);
  try {
    await c.greeting();
    const reply = await c.login(user, password);
    if (reply.startsWith('+OK')) {
      await c.cmd('QUIT');
      await c.closed();
    }
    return reply;
  } finally {
    c.destroy();
  }
}
