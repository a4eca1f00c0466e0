import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPrismaClientWithPool, type PrismaClient } from '@mailroom/db';
import { testDatabaseUrl } from '@mailroom/db/testing';
import { deliverMessage } from '@mailroom/ingress';
import { startServer, type TestServer } from '@mailroom/pop3/testing';
import { call, createTestApp, createUser, login, type TestContext, uniqueName } from '../testing.ts';
import { runCli } from './testing.ts';

let t: TestContext;
let pop3Prisma: PrismaClient;
let pop3: TestServer;
let dir: string;
beforeAll(async () => {
  t = await createTestApp();
  pop3Prisma = createPrismaClientWithPool(testDatabaseUrl(), { maxConnections: 4, applicationName: 'cli-test-pop3' }).prisma;
  pop3 = await startServer(pop3Prisma);
  dir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-cli-mbox-'));
});
afterAll(async () => {
  await pop3?.close();
  await pop3Prisma?.$disconnect();
  await t?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const PW = 'mailbox passphrase 1';

describe('mailboxes export-mbox / import-mbox / fetch', () => {
  test('export to a file, import it into another mailbox, fetch from a POP3 server over TLS twice (second run skips)', async () => {
    const admin = await createUser(t, { role: 'ADMIN' });
    const s = await login(t.app, admin.email, admin.password);
    const owner = await createUser(t);
    const d = (
      await call(t.app, s, 'POST', '/api/v1/domains', { name: `${uniqueName('c')}.example`, ownerId: owner.id, verified: true })
    ).json();
    const mk = async (localPart: string) =>
      (await call(t.app, s, 'POST', `/api/v1/domains/${d.id}/mailboxes`, { localPart, password: PW })).json() as {
        id: string;
        address: string;
      };
    const [src, dst, fetched] = [await mk('src'), await mk('dst'), await mk('fetched')];
    for (const raw of ['Subject: one\r\n\r\nFrom here\r\n', 'Subject: two\r\n\r\n8-bit \xe9\r\n']) {
      await deliverMessage(t.prisma, { from: 'a@example.org', recipients: [src.address], raw: Buffer.from(raw, 'latin1') });
    }
    const file = path.join(dir, 'src.mbox');
    const exp = await runCli(['mailboxes', 'export-mbox', src.address.toUpperCase(), file]);
    expect(exp.code, exp.stderr).toBe(0);
    expect((await readFile(file)).toString('latin1')).toMatch(/^From a@example\.org .*\nReturn-Path/);
    const imp = await runCli(['mailboxes', 'import-mbox', dst.address, file]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toContain('Imported 2 message(s)');
    const raws = async (id: string) =>
      (await t.prisma.message.findMany({ where: { mailboxId: id }, orderBy: { uid: 'asc' } })).map((m) =>
        Buffer.from(m.raw).toString('latin1'),
      );
    expect(await raws(dst.id)).toEqual(await raws(src.id));

    const args = [
      'mailboxes',
      'fetch',
      '--from',
      `pop3s://127.0.0.1:${pop3.tlsPort}`,
      '--user',
      src.address,
      '--password-stdin',
      '--to',
      fetched.address,
      '--insecure-tls',
    ];
    const f1 = await runCli(args, `${PW}\n`);
    expect(f1.code, f1.stderr).toBe(0);
    expect(f1.stdout).toMatch(/2 message\(s\) on the server; copied 2 .* skipped 0/);
    const f2 = await runCli(args, `${PW}\n`);
    expect(f2.stdout).toMatch(/copied 0 .* skipped 2/);
    expect(await raws(fetched.id)).toEqual(await raws(src.id));
    // without --insecure-tls the self-signed certificate is refused; plain pop3:// never sends the password in clear
    const strict = await runCli(
      args.filter((a) => a !== '--insecure-tls'),
      `${PW}\n`,
    );
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/certificate/i);
    const bad = await runCli(
      ['mailboxes', 'fetch', '--from', 'imap://x', '--user', 'u', '--password-stdin', '--to', fetched.address],
      'pw\n',
    );
    expect(bad.code).toBe(2);
  });
});
