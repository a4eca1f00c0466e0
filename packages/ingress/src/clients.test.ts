import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPasswordHasher } from '@mailroom/core';
import { testDatabaseUrl } from '@mailroom/db/testing';
import { NODE_FLAGS_MISSING } from '@mailroom/runtime';
import { describe, expect, it, onTestFinished } from 'vitest';
import { splitTraceFields } from './message.ts';
import { mailboxState, testPrisma, type Fixture } from './testing/fixtures.ts';
import { runClient as run, startEntry, type RunningIngress, useIngressWithFixture } from './testing/harness.ts';
import { WireClient } from './testing/wire-client.ts';

const prisma = testPrisma(10);
let ing: RunningIngress;
let f: Fixture;
useIngressWithFixture(prisma, (started) => ({ ing, f } = started));

/**
 * A temporary directory removed when the test ends, pass or fail. onTestFinished runs its callbacks last-registered
 * first, so a child's stop registered after this runs before the removal.
 */
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function storedBodies(mailboxId: string) {
  return (await mailboxState(prisma, mailboxId)).messages.map((m) => splitTraceFields(Buffer.from(m.raw)).message);
}

const PY_SEND = `
import json, smtplib, ssl, sys
port, sender, rcpts, path = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(','), sys.argv[4]
msg = open(path, 'rb').read()
s = smtplib.SMTP('127.0.0.1', port, local_hostname='py.test')
s.ehlo()
ext = sorted(s.esmtp_features.keys())
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s.starttls(context=ctx)
s.ehlo()
refused = {}
try:
    refused = s.sendmail(sender, rcpts, msg, mail_options=['BODY=8BITMIME'])
    err = None
except smtplib.SMTPRecipientsRefused as e:
    err = {k: [v[0], v[1].decode()] for k, v in e.recipients.items()}
s.quit()
print(json.dumps({'ext': ext, 'refused': {k: [v[0], v[1].decode()] for k, v in refused.items()}, 'error': err}))
`;

describe("Python's smtplib (STARTTLS)", () => {
  it('delivers an 8-bit message with dot lines byte-exact and reports refused recipients with their codes', async () => {
    const m = await f.mailbox('py');
    const dir = await tempDir('ingress-py-');
    const file = path.join(dir, 'msg.eml');
    const raw = Buffer.concat([
      Buffer.from('From: py@example.org\r\nTo: py\r\nSubject: smtplib\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'),
      Buffer.from('gr\u00fc\u00dfe \u2603\r\n.starts with a dot\r\n..two dots\r\n', 'utf8'),
      Buffer.from([0xc0, 0xff, 0x0d, 0x0a]),
      Buffer.from(`${'w'.repeat(998)}\r\n`),
    ]);
    await writeFile(file, raw);
    const out = await run('python3', [
      '-c',
      PY_SEND,
      String(ing.ports.smtp),
      'py@example.org',
      `${m.address},nobody@${f.domain},x@relay.example`,
      file,
    ]);
    expect(out.stderr).toBe('');
    const res = JSON.parse(out.stdout) as { ext: string[]; refused: Record<string, [number, string]> };
    expect(res.ext).toEqual(expect.arrayContaining(['starttls', 'size', '8bitmime', 'smtputf8', 'pipelining']));
    expect(res.ext).not.toContain('auth');
    expect(res.refused[`nobody@${f.domain}`]?.[0]).toBe(550);
    expect(res.refused[`nobody@${f.domain}`]?.[1]).toMatch(/^5\.1\.1 /);
    expect(res.refused['x@relay.example']).toEqual([550, '5.7.1 Relay access denied']);
    const bodies = await storedBodies(m.id);
    expect(bodies.map((b) => b.toString('hex'))).toEqual([raw.toString('hex')]);
  });
});

const haveSwaks = spawnSync('swaks', ['--version'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!haveSwaks)('swaks', () => {
  function swaks(args: string[]) {
    return run('swaks', ['--server', '127.0.0.1', '--helo', 'swaks.test', '--suppress-data', '--hide-informational', ...args]);
  }

  it('delivers over LMTP and SMTP with STARTTLS', async () => {
    const m = await f.mailbox('swaks');
    const dir = await tempDir('ingress-swaks-');
    const file = path.join(dir, 'msg.eml');
    // swaks ends DATA with CRLF "." CRLF after the file, so the file carries no final line break
    const raw = 'From: s@example.org\r\nSubject: swaks\r\n\r\nhello from swaks\r\n.dot line\r\n';
    await writeFile(file, raw.slice(0, -2));
    const lmtp = await swaks([
      '--port',
      String(ing.ports.lmtp),
      '--protocol',
      'LMTP',
      '--from',
      's@example.org',
      '--to',
      m.address,
      '--data',
      `@${file}`,
    ]);
    expect(lmtp.status, lmtp.stdout + lmtp.stderr).toBe(0);
    expect(lmtp.stdout).toMatch(/<-\s+250 2\.0\.0 Ok: delivered as [0-9A-Z]{12}/);
    const smtp = await swaks([
      '--port',
      String(ing.ports.smtp),
      '--tls',
      '--from',
      's@example.org',
      '--to',
      m.address,
      '--data',
      `@${file}`,
    ]);
    expect(smtp.status, smtp.stdout + smtp.stderr).toBe(0);
    const bodies = await storedBodies(m.id);
    expect(bodies.map((b) => b.toString())).toEqual([raw, raw]);
  });

  it('sees 550 5.1.1 for an unknown user and 550 5.7.1 for relaying', async () => {
    const unknown = await swaks(['--port', String(ing.ports.smtp), '--from', 's@example.org', '--to', `ghost@${f.domain}`]);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stdout).toMatch(/<\*\* 550 5\.1\.1 /);
    const relay = await swaks(['--port', String(ing.ports.smtp), '--from', 's@example.org', '--to', 'someone@example.com']);
    expect(relay.stdout).toMatch(/<\*\* 550 5\.7\.1 Relay access denied/);
  });
});

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
/** The entry's environment: this database, ports of the system's choosing. */
const entryEnv = (dataDir: string): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  DATABASE_URL: testDatabaseUrl(),
  MAILROOM_DATA_DIR: dataDir,
  MAILROOM_HOST: '127.0.0.1',
  LMTP_PORT: '0',
  SMTP_PORT: '0',
  INGRESS_METRICS_PORT: '0',
  LOG_LEVEL: 'info',
});

describe('src/main.ts', () => {
  it('parses its env, logs "listening" with the bound ports, delivers, and exits 0 on SIGTERM', async () => {
    const m = await f.mailbox('entry');
    const dataDir = await tempDir('ingress-main-');
    const { child, listening, lines, stop } = await startEntry(MAIN, entryEnv(dataDir));
    onTestFinished(stop); // a failed assertion must not leave the entry running in its data directory
    const lmtpPort = listening.lmtpPort as number;
    const c = await WireClient.connect(lmtpPort);
    await c.command('LHLO mta.test');
    await c.command('MAIL FROM:<x@example.org>');
    expect((await c.command(`RCPT TO:<${m.address}>`)).code).toBe(250);
    await c.command('DATA');
    c.sendData(Buffer.from('Subject: via main\r\n\r\nok\r\n'));
    expect((await c.read()).code).toBe(250);
    await c.quit();
    const health = await fetch(`http://127.0.0.1:${listening.metricsPort as number}/readyz`);
    expect(health.status).toBe(200);
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(lines.some((l) => l.msg === 'delivered' && typeof l.qid === 'string' && typeof l.sid === 'string')).toBe(true);
    expect((await mailboxState(prisma, m.id)).messageCount).toBe(1);
    // startEntry passes the package.json's Node flags, as the supervisor does
    expect(lines.some((l) => l.msg === NODE_FLAGS_MISSING)).toBe(false);
  });

  it('warns at start when its Node flags are missing from the command line', async () => {
    const dataDir = await tempDir('ingress-main-');
    const entry = await startEntry(MAIN, entryEnv(dataDir), []);
    await entry.stop();
    const warning = entry.lines.find((l) => l.msg === NODE_FLAGS_MISSING);
    expect(warning?.missing).toEqual(['--initial-old-space-size=128']);
  });

  it('fails with a clear message on a bad environment', async () => {
    const out = await run(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./main.ts', import.meta.url))], {
      PATH: process.env.PATH,
      DATABASE_URL: 'postgresql://127.0.0.1/x',
      INGRESS_QUOTA_REPLY: 'sometimes',
    });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('INGRESS_QUOTA_REPLY');
  });
});

const POP3_MAIN = fileURLToPath(new URL('../../pop3/src/main.ts', import.meta.url));

const PY_RETR = `
import json, poplib, ssl, sys
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3_SSL('127.0.0.1', port, context=ctx)
p.user(user); p.pass_(password)
listing = [l.decode() for l in p.list()[1]]
uidl = [l.decode() for l in p.uidl()[1]]
resp, lines, octets = p.retr(1)
p.quit()
print(json.dumps({'list': listing, 'uidl': uidl, 'octets': octets, 'hex': (b'\\r\\n'.join(lines) + b'\\r\\n').hex()}))
`;

describe.skipIf(!existsSync(POP3_MAIN))('end to end: smtplib -> ingress -> POP3 -> poplib', () => {
  it('retrieves the message byte-exact after the trace fields, with the size and UIDL the ingress stored', async () => {
    const hasher = createPasswordHasher({ memoryKib: 1024, timeCost: 1, parallelism: 1 });
    const m = await f.mailbox('roundtrip');
    await prisma.mailbox.update({ where: { id: m.id }, data: { passwordHash: await hasher.hash('correct horse battery') } });
    const dir = await tempDir('ingress-e2e-');
    const file = path.join(dir, 'msg.eml');
    const raw = Buffer.concat([
      Buffer.from('From: e2e@example.org\r\nTo: roundtrip\r\nSubject: round trip\r\n\r\n'),
      Buffer.from('.\r\n..\r\n.leading\r\n', 'utf8'),
      Buffer.from([0xe2, 0x98, 0x83, 0xff, 0x0d, 0x0a]),
      Buffer.from(`${'L'.repeat(998)}\r\nend\r\n`),
    ]);
    await writeFile(file, raw);
    const sent = await run('python3', ['-c', PY_SEND, String(ing.ports.smtp), 'e2e@example.org', m.address, file]);
    expect(sent.stderr).toBe('');
    const pop3 = await startEntry(POP3_MAIN, {
      PATH: process.env.PATH,
      DATABASE_URL: testDatabaseUrl(),
      MAILROOM_DATA_DIR: dir,
      MAILROOM_HOST: '127.0.0.1',
      POP3_PORT: '0',
      POP3S_PORT: '0',
      POP3_METRICS_PORT: '0',
      LOG_LEVEL: 'info',
    });
    try {
      const out = await run('python3', ['-c', PY_RETR, String(pop3.listening.pop3s), m.address, 'correct horse battery']);
      expect(out.stderr).toBe('');
      const res = JSON.parse(out.stdout) as { list: string[]; uidl: string[]; hex: string };
      const retrieved = Buffer.from(res.hex, 'hex');
      const stored = (await mailboxState(prisma, m.id)).messages[0]!;
      expect(retrieved.equals(Buffer.from(stored.raw))).toBe(true);
      expect(splitTraceFields(retrieved).message.toString('hex')).toBe(raw.toString('hex'));
      expect(res.list).toEqual([`1 ${stored.sizeOctets}`]);
      expect(res.uidl).toEqual([`1 ${stored.uidl}`]);
    } finally {
      await pop3.stop();
    }
  });
});
