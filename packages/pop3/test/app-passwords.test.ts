import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { accountKey, createAppPassword, revokeAppPassword, setMailboxAppPasswordPolicy, type Actor } from '@mailroom/core';
import type { PrismaClient } from '@mailroom/db';
import { describe, expect, it } from 'vitest';
import {
  AUTH_FAILED,
  createMaildrop,
  deliver,
  loginOnce,
  makeMessage,
  ownNetwork,
  Pop3TestClient,
  testHasher,
  testStore,
  useTestServer,
  withServer,
  type TestServer,
} from './helpers.ts';

const run = promisify(execFile);
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const SYSTEM: Actor = { principal: { kind: 'system', label: 'pop3-test' } };

let prisma: PrismaClient;
let srv: TestServer;
useTestServer((started) => ({ prisma, srv } = started));

/** Python's poplib over STLS: the message count after login, or the server's error line. */
const POPLIB = String.raw`
import os, poplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3('127.0.0.1', int(os.environ['PORT']))
p.stls(context=ctx)
try:
    p.user(os.environ['LOGIN']); p.pass_(os.environ['PASSWORD'])
except poplib.error_proto as e:
    print(e.args[0].decode()); sys.exit(0)
print('+OK %d' % p.stat()[0]); p.quit()
`;

async function poplib(port: number, login: string, password: string): Promise<string> {
  const { stdout } = await run('python3', ['-c', POPLIB], {
    env: { ...process.env, PORT: String(port), LOGIN: login, PASSWORD: password },
  });
  return stdout.trim();
}

async function mailboxWithTwoAppPasswords() {
  const md = await createMaildrop(prisma);
  await deliver(prisma, md.mailboxId, makeMessage({ subject: 'one' }));
  const deps = { prisma, hasher: testHasher() };
  const phone = await createAppPassword(deps, SYSTEM, md.mailboxId, { name: 'phone' });
  const laptop = await createAppPassword(deps, SYSTEM, md.mailboxId, { name: 'laptop' });
  return { md, phone, laptop };
}

describe.skipIf(!has('python3'))('app passwords through real POP3 clients', () => {
  it('poplib signs in with each of two app passwords; revoking one refuses it and leaves the other; last use is recorded', async () => {
    const { md, phone, laptop } = await mailboxWithTwoAppPasswords();
    expect(await poplib(srv.port, md.address, phone.password)).toBe('+OK 1');
    expect(await poplib(srv.port, md.address, laptop.password)).toBe('+OK 1');
    expect(await poplib(srv.port, md.address, md.password)).toBe('+OK 1');
    const used = await prisma.mailboxAppPassword.findUniqueOrThrow({ where: { id: phone.id } });
    expect(used.lastUsedAt).not.toBeNull();
    expect(used.lastUsedIp).toBe('127.0.0.1');
    await revokeAppPassword(prisma, SYSTEM, md.mailboxId, phone.id);
    expect(await poplib(srv.port, md.address, phone.password)).toBe(AUTH_FAILED);
    expect(await poplib(srv.port, md.address, laptop.password)).toBe('+OK 1');
  });

  it.skipIf(!has('curl'))('curl (SASL PLAIN over STLS) signs in with an app password typed with spaces', async () => {
    const { md, laptop } = await mailboxWithTwoAppPasswords();
    const spaced = laptop.password.replace(/-/g, ' ');
    const list = await run('curl', ['-s', '--ssl-reqd', '-k', '-u', `${md.address}:${spaced}`, `pop3://127.0.0.1:${srv.port}/`]);
    expect(list.stdout.trim().split(/\r?\n/)).toHaveLength(1);
  });

  it('an open session keeps its snapshot after its app password is revoked; the next login is refused', async () => {
    const { md, phone } = await mailboxWithTwoAppPasswords();
    const c = await Pop3TestClient.connect(srv.port);
    try {
      await c.greeting();
      expect(await c.login(md.address, phone.password)).toBe('+OK Logged in.');
      await revokeAppPassword(prisma, SYSTEM, md.mailboxId, phone.id);
      expect(await c.cmd('STAT')).toMatch(/^\+OK 1 \d+$/);
      expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
      expect(await c.cmd('QUIT')).toMatch(/^\+OK/);
    } finally {
      c.destroy();
    }
    expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(0);
    expect(await poplib(srv.port, md.address, phone.password)).toBe(AUTH_FAILED);
  });

  it('app passwords required (mailbox setting, or the operator default): the main password is refused, app passwords work', async () => {
    const { md, laptop } = await mailboxWithTwoAppPasswords();
    await prisma.mailbox.update({ where: { id: md.mailboxId }, data: { pop3AppPasswordsRequired: true } });
    expect(await poplib(srv.port, md.address, md.password)).toBe(
      '-ERR [AUTH] This mailbox accepts only app passwords for POP3: create one in the Mailroom panel.',
    );
    expect(await poplib(srv.port, md.address, laptop.password)).toBe('+OK 1');
    expect(await poplib(srv.port, md.address, 'wrong password')).toBe(AUTH_FAILED);

    const other = await mailboxWithTwoAppPasswords();
    const store = testStore(prisma, { requireAppPasswords: true });
    await withServer(
      prisma,
      {},
      async (s) => {
        expect(await poplib(s.port, other.md.address, other.md.password)).toMatch(/^-ERR \[AUTH\] This mailbox accepts only app passwords/);
        expect(await poplib(s.port, other.md.address, other.phone.password)).toBe('+OK 1');
        // A domain (or mailbox) that says false opts out of the operator default.
        await prisma.domain.update({ where: { id: other.md.domainId }, data: { pop3AppPasswordsRequired: false } });
        expect(await poplib(s.port, other.md.address, other.md.password)).toBe('+OK 1');
      },
      { store },
    );
  });
});

describe("app passwords: the mailbox user's own opt-in (tightens only)", () => {
  const APP_ONLY = '-ERR [AUTH] This mailbox accepts only app passwords for POP3: create one in the Mailroom panel.';
  const mailboxUser = (md: { mailboxId: string; address: string; domainId: string }): Actor => ({
    principal: { kind: 'mailbox', mailboxId: md.mailboxId, address: md.address, domainId: md.domainId, sessionId: 'pop3-test' },
  });

  it('opted in, POP3 refuses the main password even where the mailbox and the domain allow it; withdrawn, it signs in again', async () => {
    const { md, laptop } = await mailboxWithTwoAppPasswords();
    await prisma.domain.update({ where: { id: md.domainId }, data: { pop3AppPasswordsRequired: false } });
    await prisma.mailbox.update({
      where: { id: md.mailboxId },
      data: { pop3AppPasswordsRequired: false, pop3AppPasswordsUserRequired: true },
    });
    expect(await loginOnce(srv.port, md.address, md.password, ownNetwork())).toBe(APP_ONLY);
    expect(await loginOnce(srv.port, md.address, laptop.password, ownNetwork())).toBe('+OK Logged in.');
    await prisma.mailbox.update({ where: { id: md.mailboxId }, data: { pop3AppPasswordsUserRequired: false } });
    expect(await loginOnce(srv.port, md.address, md.password, ownNetwork())).toBe('+OK Logged in.');
  });

  it("the mailbox user's false cannot lift the owner's requirement nor the operator default", async () => {
    const owned = await mailboxWithTwoAppPasswords();
    await prisma.mailbox.update({ where: { id: owned.md.mailboxId }, data: { pop3AppPasswordsRequired: true } });
    for (const requiredForPop3 of [false, null]) {
      await setMailboxAppPasswordPolicy(
        prisma,
        mailboxUser(owned.md),
        owned.md.mailboxId,
        { requiredForPop3 },
        { requireAppPasswordsDefault: false },
      );
      expect(await loginOnce(srv.port, owned.md.address, owned.md.password, ownNetwork())).toBe(APP_ONLY);
    }
    expect(await prisma.mailbox.findUniqueOrThrow({ where: { id: owned.md.mailboxId } })).toMatchObject({
      pop3AppPasswordsRequired: true,
      pop3AppPasswordsUserRequired: false,
    });

    const byDefault = await mailboxWithTwoAppPasswords();
    await withServer(
      prisma,
      {},
      async (s) => {
        const list = await setMailboxAppPasswordPolicy(
          prisma,
          mailboxUser(byDefault.md),
          byDefault.md.mailboxId,
          { requiredForPop3: false },
          { requireAppPasswordsDefault: true },
        );
        expect(list).toMatchObject({ requiredForPop3: null, enforcedForPop3: true, effectiveRequiredForPop3: true });
        expect(await loginOnce(s.port, byDefault.md.address, byDefault.md.password, ownNetwork())).toBe(APP_ONLY);
        expect(await loginOnce(s.port, byDefault.md.address, byDefault.phone.password, ownNetwork())).toBe('+OK Logged in.');
      },
      { store: testStore(prisma, { requireAppPasswords: true }) },
    );
  });
});

describe("app passwords: throttling across all of a mailbox's passwords", () => {
  it('distinct wrong guesses in either shape (main or app password, even with a real selector) count together', async () => {
    const { md, phone } = await mailboxWithTwoAppPasswords();
    const net = ownNetwork();
    const before = srv.delays.length;
    const guesses = [
      'guess-main-1',
      `${phone.selector}-aaaa-bbbb-cccc-dddd-eeee`,
      'guess-main-2',
      `${phone.selector}-ffff-gggg-hhhh-iiii-jjjj`,
      'zzzz-zzzz-zzzz-zzzz-zzzz-zzzz',
    ];
    for (const g of guesses) expect(await loginOnce(srv.port, md.address, g, net)).toBe(AUTH_FAILED);
    expect((await prisma.authThrottle.findUnique({ where: { key: accountKey(md.address) } }))?.failures).toBe(guesses.length);
    // Past the free attempts the server waited before verifying, whichever password was tried.
    expect(srv.delays.length - before).toBeGreaterThan(0);
    // A right app password still signs in (a delay, not a lockout) and clears the mailbox's count.
    expect(await loginOnce(srv.port, md.address, phone.password, net)).toBe('+OK Logged in.');
    expect(await prisma.authThrottle.findUnique({ where: { key: accountKey(md.address) } })).toBeNull();
  });

  it("a lost phone retrying its revoked app password counts once and never locks out the laptop's", async () => {
    const { md, phone, laptop } = await mailboxWithTwoAppPasswords();
    await revokeAppPassword(prisma, SYSTEM, md.mailboxId, phone.id);
    const net = ownNetwork();
    for (let i = 0; i < 8; i++) expect(await loginOnce(srv.port, md.address, phone.password, net)).toBe(AUTH_FAILED);
    expect((await prisma.authThrottle.findUnique({ where: { key: accountKey(md.address) } }))?.failures).toBe(1);
    const before = srv.delays.length;
    expect(await loginOnce(srv.port, md.address, laptop.password, ownNetwork())).toBe('+OK Logged in.');
    expect(srv.delays.length).toBe(before);
  });
});
