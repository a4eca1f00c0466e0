import { execFile, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { PrismaClient } from '@mailroom/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '@mailroom/db/testing';
import { databaseOptionsFromEnv, parsePop3Env } from '../src/config.ts';
import { createPop3Store, openPop3Database, type Pop3Database } from '../src/database.ts';
import {
  createMaildrop,
  deliver,
  makeMessage,
  startServer,
  testAuth,
  testTempDir,
  type StoredMessage,
  type TestMaildrop,
  type TestServer,
} from './helpers.ts';

const run = promisify(execFile);
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

let prisma: PrismaClient;
let db: Pop3Database;
let srv: TestServer;
/** Connections the stream pool handed out: RETR/TOP of real clients must come through it, as in production. */
let streamAcquired = 0;

beforeAll(async () => {
  // The database and store exactly as main.ts builds them (both pools, streaming RETR/TOP through the stream pool's
  // binary COPY), from the production defaults of the environment; only the row size is tiny, so every client also
  // crosses many chunk borders (dot lines, CRLF split between rows).
  db = openPop3Database(testDatabaseUrl(), databaseOptionsFromEnv(parsePop3Env({ DATABASE_URL: testDatabaseUrl() })), 'pop3-interop');
  prisma = db.prisma;
  db.streamPool.on('acquire', () => streamAcquired++);
  const store = createPop3Store(db, { ...testAuth(prisma), requireAppPasswords: false }, { chunkOctets: 777 });
  srv = await startServer(prisma, {}, { store });
});
afterAll(async () => {
  await srv.close();
  await db.close();
});

/** A maildrop holding messages that exercise dot-stuffing, binary octets, long lines and size. */
async function filledMaildrop(): Promise<{ md: TestMaildrop; msgs: StoredMessage[] }> {
  const md = await createMaildrop(prisma);
  const msgs = [
    await deliver(prisma, md.mailboxId, makeMessage({ subject: 'plain' })),
    await deliver(prisma, md.mailboxId, makeMessage({ subject: 'dots', body: '.\r\n..\r\n.leading dot\r\nmiddle . dot\r\n.\r\nend\r\n' })),
    await deliver(
      prisma,
      md.mailboxId,
      Buffer.concat([
        Buffer.from('Subject: 8bit\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'),
        Buffer.from('Grüße, naïve café — ✓\r\n', 'utf8'),
      ]),
    ),
    await deliver(
      prisma,
      md.mailboxId,
      makeMessage({ subject: 'big', body: `${'x'.repeat(998)}\r\n${`${'abcdefghij'.repeat(7)}\r\n`.repeat(4000)}` }),
    ),
  ];
  return { md, msgs };
}

const POPLIB = String.raw`
import json, os, poplib, ssl, base64
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
mode = os.environ['MODE']
if mode == 'pop3s':
    p = poplib.POP3_SSL('127.0.0.1', int(os.environ['PORT']), context=ctx)
else:
    p = poplib.POP3('127.0.0.1', int(os.environ['PORT']))
    if mode == 'stls':
        p.stls(context=ctx)
caps = p.capa()
p.user(os.environ['LOGIN']); p.pass_(os.environ['PASSWORD'])
count, size = p.stat()
out = {'caps': sorted(caps.keys()), 'stat': [count, size], 'list': [x.decode() for x in p.list()[1]], 'uidl': [x.decode() for x in p.uidl()[1]], 'msgs': []}
for i in range(1, count + 1):
    resp, lines, octets = p.retr(i)
    out['msgs'].append(base64.b64encode(b'\r\n'.join(lines) + b'\r\n').decode())
top = p.top(2, 1)[1]
out['top'] = base64.b64encode(b'\r\n'.join(top) + b'\r\n').decode()
p.dele(1)
out['quit'] = p.quit().decode()
print(json.dumps(out))
`;

describe("Python's poplib", () => {
  for (const mode of ['stls', 'pop3s'] as const) {
    it(`retrieves byte-identical messages over ${mode.toUpperCase()}, TOP, UIDL and DELE+QUIT`, async () => {
      const { md, msgs } = await filledMaildrop();
      const acquiredBefore = streamAcquired;
      const { stdout } = await run('python3', ['-c', POPLIB], {
        env: {
          ...process.env,
          MODE: mode,
          PORT: String(mode === 'pop3s' ? srv.tlsPort : srv.port),
          LOGIN: md.address,
          PASSWORD: md.password,
        },
        maxBuffer: 64 * 1024 * 1024,
      });
      const out = JSON.parse(stdout);
      // every RETR and the TOP streamed through the stream pool (COPY), not a fallback path
      expect(streamAcquired - acquiredBefore).toBeGreaterThanOrEqual(msgs.length + 1);
      expect(out.caps).toEqual(expect.arrayContaining(['TOP', 'UIDL', 'USER', 'SASL', 'PIPELINING', 'RESP-CODES']));
      expect(out.stat).toEqual([msgs.length, msgs.reduce((a, m) => a + m.raw.length, 0)]);
      expect(out.list).toEqual(msgs.map((m, i) => `${i + 1} ${m.raw.length}`));
      expect(out.uidl).toEqual(msgs.map((m, i) => `${i + 1} ${m.uidl}`));
      out.msgs.forEach((b64: string, i: number) => expect(Buffer.from(b64, 'base64').equals(msgs[i]!.raw)).toBe(true));
      const raw2 = msgs[1]!.raw.toString();
      expect(Buffer.from(out.top, 'base64').toString()).toBe(raw2.slice(0, raw2.indexOf('\r\n\r\n') + 4) + '.\r\n');
      expect(out.quit).toMatch(/^\+OK/);
      const left = await prisma.message.findMany({ where: { mailboxId: md.mailboxId }, orderBy: { uid: 'asc' } });
      expect(left.map((m) => m.uidl)).toEqual(msgs.slice(1).map((m) => m.uidl));
    });
  }
});

describe.skipIf(!has('curl'))('curl', () => {
  it('lists and retrieves byte-identical messages over pop3:// with STLS required (SASL PLAIN)', async () => {
    const { md, msgs } = await filledMaildrop();
    const base = ['-s', '--ssl-reqd', '-k', '-u', `${md.address}:${md.password}`];
    const list = await run('curl', [...base, `pop3://127.0.0.1:${srv.port}/`]);
    expect(list.stdout.trim().split(/\r?\n/)).toEqual(msgs.map((m, i) => `${i + 1} ${m.raw.length}`));
    for (let i = 0; i < msgs.length; i++) {
      const r = await run('curl', [...base, `pop3://127.0.0.1:${srv.port}/${i + 1}`], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
      expect(Buffer.from(r.stdout).equals(msgs[i]!.raw)).toBe(true);
    }
  });

  it('retrieves over pop3s:// and runs UIDL with -X', async () => {
    const { md, msgs } = await filledMaildrop();
    const base = ['-s', '-k', '-u', `${md.address}:${md.password}`];
    const r = await run('curl', [...base, `pop3s://127.0.0.1:${srv.tlsPort}/4`], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
    expect(Buffer.from(r.stdout).equals(msgs[3]!.raw)).toBe(true);
    const u = await run('curl', [...base, '-X', 'UIDL', `pop3s://127.0.0.1:${srv.tlsPort}/`]);
    expect(u.stdout.trim().split(/\r?\n/)).toEqual(msgs.map((m, i) => `${i + 1} ${m.uidl}`));
  });

  it('gets a login error for a wrong password', async () => {
    const { md } = await filledMaildrop();
    const r = await run('curl', ['-s', '-S', '-k', '--ssl-reqd', '-u', `${md.address}:wrong`, `pop3://127.0.0.1:${srv.port}/`]).catch(
      (e) => e,
    );
    expect(r.code).toBe(67); // CURLE_LOGIN_DENIED
  });
});

const lf = (b: Buffer) => b.toString('latin1').replace(/\r\n/g, '\n');

describe.skipIf(!has('mpop'))('mpop', () => {
  it('downloads every message over STLS, byte-identical up to its LF delivery, and deletes them', async () => {
    const { md, msgs } = await filledMaildrop();
    const dir = testTempDir('mpop-');
    for (const d of ['cur', 'new', 'tmp']) spawnSync('mkdir', ['-p', path.join(dir, 'maildir', d)]);
    const conf = path.join(dir, 'mpoprc');
    writeFileSync(
      conf,
      [
        'account test',
        'host 127.0.0.1',
        `port ${srv.port}`,
        `user ${md.address}`,
        `password ${md.password}`,
        'tls on',
        'tls_starttls on',
        'tls_certcheck off',
        'auth plain',
        'received_header off',
        'keep off',
        'uidls_file ' + path.join(dir, 'uidls'),
        `delivery maildir ${path.join(dir, 'maildir')}`,
      ].join('\n') + '\n',
      { mode: 0o600 },
    );
    await run('mpop', ['-C', conf, '-q', 'test']);
    const files = readdirSync(path.join(dir, 'maildir', 'new'));
    const got = files
      .map((f) =>
        readFileSync(path.join(dir, 'maildir', 'new', f))
          .toString('latin1')
          .replace(/\r\n/g, '\n'),
      )
      .sort();
    expect(got).toEqual(msgs.map((m) => lf(m.raw)).sort());
    expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(0);
    const mbx = await prisma.mailbox.findUniqueOrThrow({ where: { id: md.mailboxId } });
    expect(Number(mbx.usedBytes)).toBe(0);
  });
});

describe.skipIf(!has('fetchmail'))('fetchmail', () => {
  it('fetches every message over POP3S with UIDL tracking and keeps them on the server', async () => {
    const { md, msgs } = await filledMaildrop();
    const dir = testTempDir('fetchmail-');
    const rc = path.join(dir, 'fetchmailrc');
    writeFileSync(
      rc,
      `set no syslog\nset idfile "${path.join(dir, 'ids')}"\npoll 127.0.0.1 service ${srv.tlsPort} proto pop3 uidl\n` +
        `  user "${md.address}" there password "${md.password}" is root here\n` +
        `  ssl no sslcertck keep fetchall mda "/bin/sh -c 'cat > ${dir}/msg-$$-$(date +%s%N)'"\n`,
      { mode: 0o600 },
    );
    await run('fetchmail', ['-f', rc, '--invisible', '-s'], { env: { ...process.env, HOME: dir, FETCHMAILHOME: dir } }).catch((e) => {
      if (e.code !== 0) throw new Error(`fetchmail failed (${e.code}): ${e.stderr}`);
    });
    const got = readdirSync(dir)
      .filter((f) => f.startsWith('msg-'))
      .map((f) => lf(readFileSync(path.join(dir, f))));
    expect(got.length).toBe(msgs.length);
    // fetchmail prepends its own trace header; the stored message must follow it unchanged
    for (const m of msgs) expect(got.some((g) => g.endsWith(lf(m.raw)))).toBe(true);
    expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(msgs.length);
  });
});
