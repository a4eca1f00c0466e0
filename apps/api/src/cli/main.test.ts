import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { haveDnsmasq, startDnsServer } from '@mailroom/core/testing';
import { MESSAGE_PART_OCTETS } from '@mailroom/db';
import { runCli, spawnCli } from './testing.ts';
import { call, createTestApp, createUser, login, type TestContext, uniqueName } from '../testing.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

describe('operator CLI', () => {
  // The commands run in this process below; this is the entry itself, started as operators start it. Through tsx on a
  // loaded 2-core machine that takes tens of seconds (a hang guard, not a timing).
  test('as a process: exit codes, standard output and error, the password on standard input', { timeout: 120_000 }, async () => {
    const help = await spawnCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('api-key create');
    const unknown = await spawnCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const email = `${uniqueName('adm')}@example.com`;
    const created = await spawnCli(['admin', 'create', '--email', email, '--password-stdin'], 'spawned admin passphrase\n');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`Created admin ${email}`);
    const s = await login(t.app, email, 'spawned admin passphrase');
    expect((await call(t.app, s, 'GET', '/api/v1/me')).json().user.role).toBe('ADMIN');
  });

  test('--help for the CLI and each command', async () => {
    const main = await runCli(['--help']);
    expect(main.code).toBe(0);
    expect(main.stdout).toContain('api-key create');
    expect(main.stdout).toContain('admin create');
    const key = await runCli(['api-key', 'create', '--help']);
    expect(key.code).toBe(0);
    expect(key.stdout).toContain('--user <email>');
    expect(key.stdout).toContain('--expires');
    const admin = await runCli(['admin', 'create', '--help']);
    expect(admin.code).toBe(0);
    expect(admin.stdout).toContain('--password-stdin');
  });

  test('api-key create prints the key alone on the last line; the key works with its scopes and expiry', async () => {
    const owner = await createUser(t);
    const res = await runCli([
      'api-key',
      'create',
      '--user',
      owner.email.toUpperCase(),
      '--name',
      'provisioning',
      '--scopes',
      'domains:write,mailboxes:write',
      '--expires',
      '30d',
    ]);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    const key = lines[lines.length - 1]!;
    expect(key).toMatch(/^mr_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    const d = await call(t.app, { key }, 'POST', '/api/v1/domains', { name: `${uniqueName('cli')}.example` });
    expect(d.statusCode).toBe(201);
    expect((await call(t.app, { key }, 'GET', '/api/v1/api-keys')).statusCode).toBe(403);
    const row = await t.prisma.apiKey.findFirstOrThrow({ where: { userId: owner.id } });
    expect(row.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(row.scopes.sort()).toEqual(['domains:write', 'mailboxes:write']);
  });

  test('api-key create for an admin defaults to every scope', async () => {
    const admin = await createUser(t, { role: 'ADMIN' });
    const res = await runCli(['api-key', 'create', '--user', admin.email, '--name', 'ops']);
    expect(res.code, res.stderr).toBe(0);
    const key = res.stdout.trimEnd().split('\n').pop()!;
    expect((await call(t.app, { key }, 'GET', '/api/v1/owners')).statusCode).toBe(200);
  });

  test('api-key create --domains: the default scopes leave owners:* out; asking for them is SCOPE_NOT_ALLOWED', async () => {
    const admin = await createUser(t, { role: 'ADMIN' });
    const owner = await createUser(t);
    const d = await t.prisma.domain.create({ data: { verifiedAt: new Date(), name: `${uniqueName('cli')}.example`, ownerId: owner.id } });
    const res = await runCli(['api-key', 'create', '--user', admin.email, '--name', 'r', '--domains', d.id]);
    expect(res.code, res.stderr).toBe(0);
    const key = res.stdout.trimEnd().split('\n').pop()!;
    const row = await t.prisma.apiKey.findFirstOrThrow({ where: { userId: admin.id } });
    expect(row.domainIds).toEqual([d.id]);
    expect(row.scopes).not.toContain('owners:read');
    expect(row.scopes).not.toContain('owners:write');
    expect((await call(t.app, { key }, 'GET', '/api/v1/owners')).statusCode).toBe(403);
    expect((await call(t.app, { key }, 'GET', `/api/v1/domains/${d.id}`)).statusCode).toBe(200);
    const refused = await runCli([
      'api-key',
      'create',
      '--user',
      admin.email,
      '--name',
      'r2',
      '--domains',
      d.id,
      '--scopes',
      'domains:read,owners:write',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('SCOPE_NOT_ALLOWED');
    expect(refused.stderr).toContain('scopes.1');
    expect(await t.prisma.apiKey.count({ where: { userId: admin.id } })).toBe(1);
  });

  test('errors: unknown user, unknown scope, missing options, unknown command', async () => {
    const unknown = await runCli(['api-key', 'create', '--user', 'nobody@nowhere.example', '--name', 'x']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no user');
    const badScope = await runCli(['api-key', 'create', '--user', 'a@b.example', '--name', 'x', '--scopes', 'root']);
    expect(badScope.code).toBe(2);
    expect(badScope.stderr).toContain('unknown scope');
    const missing = await runCli(['api-key', 'create', '--name', 'x']);
    expect(missing.code).toBe(2);
    expect((await runCli(['frobnicate'])).code).toBe(2);
  });

  test("user reset-2fa removes a locked-out admin's second factors and ends their sessions, audited", async () => {
    const admin = await createUser(t, { role: 'ADMIN' });
    await login(t.app, admin.email, admin.password);
    await t.prisma.totpFactor.create({ data: { userId: admin.id, secretEnc: 'sealed', confirmedAt: new Date() } });
    await t.prisma.recoveryCode.create({ data: { userId: admin.id, codeHash: '$argon2id$x' } });
    const r = await runCli(['user', 'reset-2fa', '--email', admin.email.toUpperCase()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Removed 1 second factor(s)');
    expect(await t.prisma.totpFactor.count({ where: { userId: admin.id } })).toBe(0);
    expect(await t.prisma.recoveryCode.count({ where: { userId: admin.id } })).toBe(0);
    expect(await t.prisma.session.count({ where: { userId: admin.id } })).toBe(0);
    expect(await t.prisma.auditEvent.count({ where: { action: 'user.2fa.reset', targetId: admin.id, actorType: 'system' } })).toBe(1);
    const unknown = await runCli(['user', 'reset-2fa', '--email', 'nobody@example.com']);
    expect(unknown.code).toBe(2);
  });

  test('admin create --password-stdin creates an admin who can sign in; weak passwords are refused', async () => {
    const email = `${uniqueName('adm')}@example.com`;
    const res = await runCli(['admin', 'create', '--email', email, '--password-stdin'], 'admin cli passphrase 8\n');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(email);
    const s = await login(t.app, email, 'admin cli passphrase 8');
    expect((await call(t.app, s, 'GET', '/api/v1/me')).json().user.role).toBe('ADMIN');
    const weak = await runCli(['admin', 'create', '--email', `${uniqueName('adm')}@example.com`, '--password-stdin'], 'password\n');
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain('PASSWORD_TOO_WEAK');
    const dup = await runCli(['admin', 'create', '--email', email, '--password-stdin'], 'admin cli passphrase 9\n');
    expect(dup.stderr).toContain('ALREADY_EXISTS');
  });
});

describe('messages split-large', () => {
  test("--dry-run counts a mailbox's whole large message, then it moves to parts with the same octets; bad options exit 2", async () => {
    const owner = await createUser(t);
    const d = await t.prisma.domain.create({ data: { verifiedAt: new Date(), name: `${uniqueName('split')}.example`, ownerId: owner.id } });
    const box = await t.prisma.mailbox.create({ data: { domainId: d.id, localPart: 'old', passwordHash: 'x' } });
    const header = Buffer.from('Subject: stored before parts\r\n\r\n');
    const raw = Buffer.concat([header, randomBytes(200_000)]);
    const m = await t.prisma.message.create({ data: { mailboxId: box.id, uid: 1, uidl: 'old1', sizeOctets: raw.length, raw } });
    const stored = async () => {
      const [row] = await t.prisma.$queryRaw<{ raw: number; parts: number; octets: Buffer }[]>`
        SELECT octet_length(raw) AS raw, (SELECT count(*)::int FROM message_parts WHERE message_id = m.id) AS parts,
               message_octets(m.id) AS octets
          FROM messages m WHERE id = ${m.id}::uuid`;
      return { raw: row!.raw, parts: row!.parts, same: Buffer.from(row!.octets).equals(raw) };
    };
    const address = `old@${d.name}`;

    const dry = await runCli(['messages', 'split-large', '--mailbox', address.toUpperCase(), '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`1 message(s) (${raw.length} octets) would be converted`);
    expect(await stored()).toEqual({ raw: raw.length, parts: 0, same: true });

    const run = await runCli(['messages', 'split-large', '--mailbox', address, '--batch-mib', '1']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Converted 1 message(s) (${raw.length} octets) to parts; 0 skipped (in use, run again)`);
    expect(await stored()).toEqual({
      raw: header.length,
      parts: Math.ceil((raw.length - header.length) / MESSAGE_PART_OCTETS),
      same: true,
    });

    for (const bad of ['0', '2048', 'lots']) {
      const r = await runCli(['messages', 'split-large', '--batch-mib', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain('--batch-mib');
    }
    const unknown = await runCli(['messages', 'split-large', '--mailbox', `nobody@${d.name}`]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no mailbox');
    expect((await runCli(['messages', 'split-large', '--help'])).stdout).toContain('--dry-run');
    expect((await runCli(['--help'])).stdout).toContain('messages split-large');
  });
});

describe.skipIf(!haveDnsmasq)('domains recheck', () => {
  test('removes expired claims and stores each verified domain’s MX state, listing those not pointing here', async () => {
    const owner = await createUser(t);
    const name = (label: string) => `${uniqueName(label)}.cli.test`;
    const [good, moved, expired] = [name('good'), name('moved'), name('old')];
    const dns = await startDnsServer(['cli.test'], {
      mx: [
        [good, 'mx.cli-host.test', 10],
        [moved, 'mx.elsewhere.test', 10],
      ],
    });
    try {
      const now = new Date();
      const g = await t.prisma.domain.create({ data: { name: good, ownerId: owner.id, verifiedAt: now } });
      const m = await t.prisma.domain.create({ data: { name: moved, ownerId: owner.id, verifiedAt: now } });
      const e = await t.prisma.domain.create({
        data: { name: expired, ownerId: owner.id, verificationToken: 'a'.repeat(32), claimExpiresAt: new Date(now.getTime() - 1) },
      });
      const help = await runCli(['domains', 'recheck', '--help']);
      expect(help.stdout).toContain('--older-than');
      const res = await runCli(['domains', 'recheck', '--limit', '10000'], undefined, {
        MAILROOM_DNS_SERVERS: dns.server,
        MAILROOM_MX_HOST: 'mx.cli-host.test',
      });
      expect(res.code, res.stderr).toBe(0);
      // the claim is gone with its audit event; which prune removed it is not asserted (another test file's verify
      // prunes every expired claim too, so the count this run prints may be 0 if files ever run at once)
      expect(res.stdout).toMatch(/Removed \d+ expired pending claim/);
      expect(await t.prisma.auditEvent.count({ where: { action: 'domain.claim_expired', targetId: e.id } })).toBe(1);
      expect(res.stdout).toContain(`${moved}: MX different (expected mx.cli-host.test)`);
      expect(res.stdout).not.toContain(`${good}:`);
      expect((await t.prisma.domain.findUniqueOrThrow({ where: { id: g.id } })).mxStatus).toBe('ok');
      expect((await t.prisma.domain.findUniqueOrThrow({ where: { id: m.id } })).mxStatus).toBe('different');
      expect(await t.prisma.domain.count({ where: { id: e.id } })).toBe(0);
    } finally {
      await dns.close();
    }
  });
});
