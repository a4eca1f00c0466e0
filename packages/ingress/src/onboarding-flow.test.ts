// Domain onboarding across services with a real DNS server: the API's and POP3's main.ts as child processes (env as
// operators set it, MAILROOM_DNS_SERVERS pointing at dnsmasq on loopback), this workspace's ingress, Python's poplib.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPasswordHasher } from '@mailroom/core';
import { haveDnsmasq, startDnsServer, type TestDnsServer } from '@mailroom/core/testing';
import { testDatabaseUrl, uniqueName } from '@mailroom/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPrisma } from './testing/fixtures.ts';
import { startEntry, startIngress, type RunningIngress } from './testing/harness.ts';
import { WireClient } from './testing/wire-client.ts';

const API_MAIN = fileURLToPath(new URL('../../../apps/api/src/main.ts', import.meta.url));
const POP3_MAIN = fileURLToPath(new URL('../../pop3/src/main.ts', import.meta.url));
const ZONE = 'flow.test';
const PASSWORD = 'correct horse battery staple 42';

const PY_POP3 = `
import json, poplib, ssl, sys
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3_SSL('127.0.0.1', port, context=ctx)
p.user(user)
try:
    p.pass_(password)
except poplib.error_proto as e:
    print(json.dumps({'error': e.args[0].decode()})); sys.exit(0)
count = p.stat()[0]
body = b'\\r\\n'.join(p.retr(1)[1]).decode() if count else ''
p.quit()
print(json.dumps({'count': count, 'body': body}))
`;

function pop3(port: number, user: string, password: string): Promise<{ error?: string; count?: number; body?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', PY_POP3, String(port), user, password], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`poplib exited ${code}: ${err}`))));
  });
}

async function smtp(port: number, to: string, subject: string): Promise<{ rcpt: number; data?: number }> {
  const c = await WireClient.connect(port);
  await c.command('EHLO client.test');
  await c.command('MAIL FROM:<sender@example.org>');
  const rcpt = (await c.command(`RCPT TO:<${to}>`)).code;
  if (rcpt !== 250) {
    await c.quit();
    return { rcpt };
  }
  await c.command('DATA');
  c.sendData(Buffer.from(`From: sender@example.org\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nhello\r\n`));
  const data = (await c.read()).code;
  await c.quit();
  return { rcpt, data };
}

describe.skipIf(!haveDnsmasq)('domain onboarding end to end (API and POP3 entries, ingress, dnsmasq)', () => {
  const prisma = testPrisma(4);
  let dns: TestDnsServer;
  let ing: RunningIngress;
  let api: Awaited<ReturnType<typeof startEntry>>;
  let pop: Awaited<ReturnType<typeof startEntry>>;
  let dataDir: string | undefined;

  beforeAll(async () => {
    dns = await startDnsServer([ZONE]);
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'onboarding-flow-'));
    const common = {
      PATH: process.env.PATH,
      DATABASE_URL: testDatabaseUrl(),
      MAILROOM_DATA_DIR: dataDir,
      MAILROOM_HOST: '127.0.0.1',
      MAILROOM_SECRET: 'onboarding-flow-secret-onboarding-flow',
      LOG_LEVEL: 'info',
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_TIME_COST: '1',
    };
    ing = await startIngress(prisma);
    api = await startEntry(API_MAIN, {
      ...common,
      API_PORT: '0',
      MAILROOM_DNS_SERVERS: dns.server,
      MAILROOM_DNS_TIMEOUT_MS: '2000',
      MAILROOM_MX_HOST: 'mx.flow-provider.test',
    });
    pop = await startEntry(POP3_MAIN, { ...common, POP3_PORT: '0', POP3S_PORT: '0', POP3_METRICS_PORT: '0' });
  });
  afterAll(async () => {
    await api?.stop();
    await pop?.stop();
    // after both entries that use it have exited
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    await ing?.close();
    await dns?.close();
    await prisma.$disconnect();
  });

  it('pending: mail refused and no login; TXT published; verify; then SMTP delivery is accepted and collected over POP3', async () => {
    const hasher = createPasswordHasher({ memoryKib: 1024, timeCost: 1, parallelism: 1 });
    const email = `${uniqueName('flow')}@owners.example`;
    await prisma.user.create({ data: { email, passwordHash: await hasher.hash(PASSWORD), role: 'OWNER' } });
    const base = `http://127.0.0.1:${api.listening.port as number}/api/v1`;
    const login = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const csrf = ((await login.json()) as { csrfToken: string }).csrfToken;
    const send = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(`${base}${p}`, {
        method,
        headers: { cookie, 'x-csrf-token': csrf, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the test walks several response shapes of the API
      return { status: res.status, json: (await res.json()) as Record<string, any> };
    };

    const name = `${uniqueName('shop')}.${ZONE}`;
    const created = await send('POST', '/domains', { name });
    expect(created.status).toBe(201);
    expect(created.json.verificationStatus).toBe('pending');
    const record = created.json.verificationRecord as { name: string; value: string };
    expect((await send('POST', `/domains/${created.json.id}/mailboxes`, { localPart: 'orders', password: PASSWORD })).status).toBe(201);
    const address = `orders@${name}`;

    // Pending: the MX refuses like for an unhosted domain, POP3 refuses the right password like a wrong one.
    const unhosted = await smtp(ing.ports.smtp, `orders@${uniqueName('nobody')}.${ZONE}`, 'x');
    expect(await smtp(ing.ports.smtp, address, 'too early')).toEqual(unhosted);
    expect(unhosted.rcpt).toBe(550);
    const early = await pop3(pop.listening.pop3s as number, address, PASSWORD);
    expect(early.error).toMatch(/^-ERR \[AUTH\]/);
    const dnsCard = await send('GET', `/domains/${created.json.id}/dns`);
    expect(dnsCard.json.records.find((r: { purpose: string }) => r.purpose === 'mx')).toMatchObject({ value: 'mx.flow-provider.test' });
    expect((await send('POST', `/domains/${created.json.id}/verify`)).json.code).toBe('DNS_RECORD_MISSING');

    await dns.setRecords({ txt: [[record.name, record.value]], mx: [[name, 'mx.flow-provider.test', 10]] });
    const verified = await send('POST', `/domains/${created.json.id}/verify`);
    expect(verified.status).toBe(200);
    expect(verified.json.verificationStatus).toBe('verified');
    const checked = await send('GET', `/domains/${created.json.id}/dns?check=true`);
    expect(checked.json.records.find((r: { purpose: string }) => r.purpose === 'mx').check.status).toBe('ok');

    expect(await smtp(ing.ports.smtp, address, 'welcome aboard')).toEqual({ rcpt: 250, data: 250 });
    const got = await pop3(pop.listening.pop3s as number, address, PASSWORD);
    expect(got.error).toBeUndefined();
    expect(got.count).toBe(1);
    expect(got.body).toContain('Subject: welcome aboard');
  });
});
