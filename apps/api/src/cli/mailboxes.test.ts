import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createOwnerWithDomain, createTestAppWithAdmin, login, type Session, type TestContext } from '../testing.ts';
import { runCli } from './testing.ts';

let t: TestContext;
let admin: Session;
let dir: string;
beforeAll(async () => {
  ({ t, admin } = await createTestAppWithAdmin());
  dir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-cli-import-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await t?.close();
});

const PW = 'cli import passphrase';

describe('mailboxes import / export CLI', () => {
  test('dry run reports bad rows and writes nothing; the import writes generated passwords to a 0600 file; export reads back', async () => {
    const { domain } = await createOwnerWithDomain(t, admin);
    const file = path.join(dir, 'in.csv');
    await writeFile(file, `\uFEFFaddress,password,quota\r\nalice,${PW},1 GB\r\nbob,,\r\nbad user,,\r\n`);
    const dry = await runCli(['mailboxes', 'import', domain.name, file, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(1);
    expect(dry.stderr).toContain('row 4 address: invalid_local_part');
    expect(await t.prisma.mailbox.count({ where: { domainId: domain.id } })).toBe(0);

    const all = await runCli(['mailboxes', 'import', domain.name, file]);
    expect(all.code).toBe(1);
    expect(all.stderr).toContain('IMPORT_INVALID');

    const out = path.join(dir, 'passwords.csv');
    const real = await runCli(['mailboxes', 'import', domain.id, file, '--skip-invalid', '--passwords-out', out]);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toContain('created 2 mailbox(es)');
    expect(real.stdout).not.toMatch(/bob@.*,/);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const [header, bob] = (await readFile(out, 'utf8')).trimEnd().split('\r\n');
    expect(header).toBe('address,password');
    const [address, password] = bob!.split(',');
    expect(address).toBe(`bob@${domain.name}`);
    await login(t.app, address!, password!);

    const exported = await runCli(['mailboxes', 'export', domain.name]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout.split('\r\n')[1]).toMatch(new RegExp(`^alice@${domain.name.replace(/\./g, '\\.')},,1073741824,0,0,true,,`));
    expect(exported.stdout).not.toContain('argon2');
    expect((await runCli(['mailboxes', 'export', 'no-such-domain.example'])).code).toBe(2);
  });
});
