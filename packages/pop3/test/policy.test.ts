// Per-mailbox POP3 policy (RFC 2449 LOGIN-DELAY, EXPIRE) seen through Python's poplib and the repository's test client.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expireMessagesPastRetention } from '@mailroom/core';
import type { PrismaClient } from '@mailroom/db';
import { describe, expect, it } from 'vitest';
import { createMaildrop, deliver, makeMessage, Pop3TestClient, useTestServer, type TestMaildrop, type TestServer } from './helpers.ts';

const run = promisify(execFile);
let prisma: PrismaClient;
let srv: TestServer;

// Operator defaults of this server: LOGIN-DELAY 600, EXPIRE 45.
useTestServer((started) => ({ prisma, srv } = started), { loginDelaySeconds: 600, retentionDays: 45 });

/** Runs a poplib script with `p` connected (plain, loopback) and LOGIN/PASSWORD in the environment; returns its JSON. */
async function poplib(md: TestMaildrop, body: string): Promise<Record<string, unknown>> {
  const script =
    String.raw`
import json, os, poplib
out = {}
p = poplib.POP3('127.0.0.1', int(os.environ['PORT']))
def login():
    p.user(os.environ['LOGIN'])
    try:
        p.pass_(os.environ['PASSWORD'])
        return 'ok'
    except poplib.error_proto as e:
        return e.args[0].decode()
def caps():
    return sorted(' '.join([k] + v) for k, v in p.capa().items())
` +
    body +
    '\nprint(json.dumps(out))\n';
  const { stdout } = await run('python3', ['-c', script], {
    env: { ...process.env, PORT: String(srv.port), LOGIN: md.address, PASSWORD: md.password },
  });
  return JSON.parse(stdout);
}

const policyCaps = (caps: unknown) => (caps as string[]).filter((c) => /^(EXPIRE|LOGIN-DELAY)/.test(c));

async function unlocked(mailboxId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await prisma.maildropLease.count({ where: { mailboxId } })) === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('lease not released');
}

describe('CAPA advertises what is enforced', () => {
  it('before login: the operator defaults tagged USER; after login: the exact values (mailbox → domain → default)', async () => {
    const inherits = await createMaildrop(prisma);
    const own = await createMaildrop(prisma, {
      domainLoginDelaySeconds: 900,
      retentionDays: 10,
      loginDelaySeconds: 0,
      mailboxRetentionDays: 0,
    });
    const byDomain = await createMaildrop(prisma, { domainLoginDelaySeconds: 900, retentionDays: 10 });
    // a mailbox's NEVER beats its domain's 10 days (and the default 45)
    const keeps = await createMaildrop(prisma, { domainLoginDelaySeconds: 900, retentionDays: 10, mailboxRetentionDays: -1 });
    const script = "out['before'] = caps(); out['login'] = login(); out['after'] = caps(); p.quit()";
    const a = await poplib(inherits, script);
    expect(a.login).toBe('ok');
    expect(policyCaps(a.before)).toEqual(['EXPIRE 45 USER', 'LOGIN-DELAY 600 USER']);
    expect(policyCaps(a.after)).toEqual(['EXPIRE 45', 'LOGIN-DELAY 600']);
    expect(policyCaps((await poplib(own, script)).after)).toEqual(['EXPIRE 0', 'LOGIN-DELAY 0']);
    expect(policyCaps((await poplib(byDomain, script)).after)).toEqual(['EXPIRE 10', 'LOGIN-DELAY 900']);
    expect(policyCaps((await poplib(keeps, script)).after)).toEqual(['EXPIRE NEVER', 'LOGIN-DELAY 900']);
  });
});

describe('LOGIN-DELAY', () => {
  it("the mailbox's own delay is enforced over its domain's (none) with -ERR [LOGIN-DELAY]; a mailbox set to 0 is not delayed", async () => {
    const delayed = await createMaildrop(prisma, { domainLoginDelaySeconds: 0, loginDelaySeconds: 3600 });
    const first = await poplib(delayed, "out['login'] = login(); p.quit()");
    expect(first.login).toBe('ok');
    const second = await poplib(delayed, "out['login'] = login()");
    expect(second.login).toBe('-ERR [LOGIN-DELAY] Minimum time between logins is 3600 seconds.');

    // The operator default (600 s) would refuse an immediate second login; the mailbox's 0 overrides it.
    const free = await createMaildrop(prisma, { loginDelaySeconds: 0 });
    expect((await poplib(free, "out['login'] = login(); p.quit()")).login).toBe('ok');
    expect((await poplib(free, "out['login'] = login(); p.quit()")).login).toBe('ok');
    // and a mailbox that inherits the default is delayed by it
    const inherits = await createMaildrop(prisma);
    expect((await poplib(inherits, "out['login'] = login(); p.quit()")).login).toBe('ok');
    expect((await poplib(inherits, "out['login'] = login()")).login).toBe('-ERR [LOGIN-DELAY] Minimum time between logins is 600 seconds.');
  });
});

describe('EXPIRE 0 (set on the mailbox)', () => {
  it('deletes retrieved messages at QUIT only: not on a dropped connection, never a message only TOPped, untouched or delivered meanwhile', async () => {
    const md = await createMaildrop(prisma, { loginDelaySeconds: 0, mailboxRetentionDays: 0 });
    const a = await deliver(prisma, md.mailboxId, makeMessage({ subject: 'a' }));
    const b = await deliver(prisma, md.mailboxId, makeMessage({ subject: 'b' }));
    const c = await deliver(prisma, md.mailboxId, makeMessage({ subject: 'c' }));

    // RETR then the connection drops (no QUIT): nothing is deleted
    const dropped = await poplib(md, "out['login'] = login(); out['n'] = len(p.retr(1)[1]); p.close()");
    expect(dropped.login).toBe('ok');
    await unlocked(md.mailboxId);
    expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(3);

    // RETR 1, TOP 2, and a message delivered during the session; QUIT deletes message 1 only
    const session = await Pop3TestClient.connect(srv.port);
    await session.greeting();
    expect(await session.login(md.address, md.password)).toBe('+OK Logged in.');
    expect((await session.multi('RETR 1')).body.equals(a.raw)).toBe(true);
    await session.multi('TOP 2 0');
    const meanwhile = await deliver(prisma, md.mailboxId, makeMessage({ subject: 'meanwhile' }));
    expect(await session.cmd('QUIT')).toBe('+OK Logging out, messages deleted.');
    const left = (await prisma.message.findMany({ where: { mailboxId: md.mailboxId }, orderBy: { uid: 'asc' } })).map((m) => m.id);
    expect(left).toEqual([b.id, c.id, meanwhile.id]);
    const mbx = await prisma.mailbox.findUniqueOrThrow({ where: { id: md.mailboxId } });
    expect([Number(mbx.usedBytes), mbx.messageCount]).toEqual([b.raw.length + c.raw.length + meanwhile.raw.length, 3]);
    expect(Number((await prisma.domain.findUniqueOrThrow({ where: { id: md.domainId } })).usedBytes)).toBe(Number(mbx.usedBytes));

    // poplib: RETR + QUIT deletes what it retrieved
    const out = await poplib(md, "login(); p.retr(1); out['quit'] = p.quit().decode()");
    expect(out.quit).toBe('+OK Logging out, messages deleted.');
    expect(await prisma.message.count({ where: { id: b.id } })).toBe(0);
  });
});

describe('retention job and POP3 sessions', () => {
  it('skips a maildrop a live POP3 session holds and deletes its old mail once the session ended', async () => {
    const md = await createMaildrop(prisma, { loginDelaySeconds: 0, mailboxRetentionDays: 3 });
    const old = await deliver(prisma, md.mailboxId, makeMessage({ subject: 'old' }));
    const fresh = await deliver(prisma, md.mailboxId, makeMessage({ subject: 'fresh' }));
    const session = await Pop3TestClient.connect(srv.port);
    await session.greeting();
    expect(await session.login(md.address, md.password)).toBe('+OK Logged in.');
    // aged after the login snapshot (the login's own expiry ran before)
    await prisma.message.update({ where: { id: old.id }, data: { receivedAt: new Date(Date.now() - 4 * 86_400_000) } });
    const during = await expireMessagesPastRetention(prisma, { defaultRetentionDays: null, batchSize: 100 });
    expect(during.leased).toBeGreaterThanOrEqual(1);
    expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(2);
    // the session still retrieves what its snapshot listed
    expect((await session.multi('RETR 1')).body.equals(old.raw)).toBe(true);
    expect(await session.cmd('QUIT')).toBe('+OK Logging out.');

    await expireMessagesPastRetention(prisma, { defaultRetentionDays: null, batchSize: 100 });
    expect((await prisma.message.findMany({ where: { mailboxId: md.mailboxId } })).map((m) => m.id)).toEqual([fresh.id]);
    const mbx = await prisma.mailbox.findUniqueOrThrow({ where: { id: md.mailboxId } });
    expect([Number(mbx.usedBytes), mbx.messageCount]).toEqual([fresh.raw.length, 1]);
  });
});
