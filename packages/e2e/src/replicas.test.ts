import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { bootstrapAdmin, createPasswordHasher } from '@mailroom/core';
import { createPrismaClient, type PrismaClient } from '@mailroom/db';
import { acquireTestServer, createTestDatabase, uniqueName, type TestServer } from '@mailroom/db/testing';
import { startEntry, within } from '@mailroom/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineClient } from './line-client.ts';
import { startPgBouncer, type RunningPgBouncer } from './pgbouncer.ts';
import { ROOT } from './stack.ts';

// Replicas on one database (issue 16): two API, two POP3 and two ingress processes and the worker, every pool through
// PgBouncer in transaction-pooling mode; only the API's LISTEN connection (DATABASE_DIRECT_URL) goes to PostgreSQL
// directly. One stack start, several checks. The web panel is left out (a Next.js build per run is not cheap; it keeps
// no state and talks only to the API).

const ARGON2 = { memoryKib: 1024, timeCost: 1, parallelism: 1 };
type Entry = Awaited<ReturnType<typeof startEntry>>;
interface Session {
  cookie: string;
  csrf: string;
}

let server: TestServer;
let db: { url: string; drop(): Promise<void> };
let bouncer: RunningPgBouncer;
let prisma: PrismaClient;
let dataDir: string;
const entries: Entry[] = [];
const api: string[] = [];
const pop3: { port: number; entry: Entry }[] = [];
const lmtp: number[] = [];
/** Webhook receiver: what the worker delivers. */
let hooks: http.Server;
const received: string[] = [];

async function start(file: string, env: Record<string, string>): Promise<Entry> {
  const e = await startEntry(file, { ...process.env, ...baseEnv(), ...env }, ROOT);
  entries.push(e);
  return e;
}
function baseEnv(): Record<string, string> {
  return {
    DATABASE_URL: bouncer.url,
    MAILROOM_DATA_DIR: dataDir,
    MAILROOM_HOST: '127.0.0.1',
    MAILROOM_SECRET: 'replicas-test-secret-0123456789abcdef0123456789abcdef',
    ARGON2_MEMORY_KIB: String(ARGON2.memoryKib),
    ARGON2_TIME_COST: String(ARGON2.timeCost),
    ARGON2_PARALLELISM: String(ARGON2.parallelism),
    LOG_LEVEL: 'info',
  };
}
const apiEnv = () => ({
  WEBHOOK_ALLOW_PRIVATE: 'true',
  API_PORT: '0',
  DATABASE_DIRECT_URL: db.url,
  API_KEY_CACHE_MS: '60000',
  LOGIN_THROTTLE_WAIT_MAX_MS: '0',
  API_DB_CONNECTIONS: '4',
});
const pop3Env = () => ({
  POP3_PORT: '0',
  POP3S_PORT: '0',
  POP3_METRICS_PORT: '0',
  POP3_THROTTLE_MAX_SLEEP_MS: '0',
  POP3_DB_CONNECTIONS: '4',
  POP3_STREAM_CONNECTIONS: '2',
});
const workerEnv = () => ({ WORKER_METRICS_PORT: '0', WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_DISPATCH_INTERVAL_MS: '200' });
const ingressEnv = () => ({
  LMTP_PORT: '0',
  SMTP_PORT: '0',
  INGRESS_METRICS_PORT: '0',
  INGRESS_SMTP_ENABLED: 'false',
  INGRESS_DB_CONNECTIONS: '6',
  // Debian's PgBouncer 1.18 in transaction mode cannot keep named statements (from 1.21, with max_prepared_statements)
  DATABASE_PREPARED_STATEMENTS: 'false',
});

beforeAll(async () => {
  server = await acquireTestServer();
  db = await createTestDatabase(server.adminUrl, 'replicas');
  bouncer = await startPgBouncer(db.url, { poolMode: 'transaction', poolSize: 10 });
  prisma = createPrismaClient(db.url, { maxConnections: 2 });
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'mr-replicas-'));
  // the first POP3 process generates the data dir's self-signed certificate; then everything else at once
  const first = await start('packages/pop3/src/main.ts', pop3Env());
  pop3.push({ port: first.listening.pop3 as number, entry: first });
  const rest = await Promise.all([
    start('packages/pop3/src/main.ts', pop3Env()),
    start('apps/api/src/main.ts', apiEnv()),
    start('apps/api/src/main.ts', apiEnv()),
    start('packages/ingress/src/main.ts', ingressEnv()),
    start('packages/ingress/src/main.ts', ingressEnv()),
    start('packages/worker/src/main.ts', workerEnv()),
  ]);
  pop3.push({ port: rest[0].listening.pop3 as number, entry: rest[0] });
  api.push(...rest.slice(1, 3).map((e) => `http://127.0.0.1:${e.listening.port as number}`));
  lmtp.push(...rest.slice(3, 5).map((e) => e.listening.lmtpPort as number));
  hooks = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push(body);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
}, 240_000);

afterAll(async () => {
  await Promise.all(entries.map((e) => e.stop()));
  hooks?.close();
  await prisma?.$disconnect();
  await bouncer?.stop();
  await db?.drop().catch(() => undefined);
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function apiCall(base: string, method: string, url: string, opts: { session?: Session; key?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.session) Object.assign(headers, { cookie: opts.session.cookie, 'x-csrf-token': opts.session.csrf });
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  const res = await fetch(`${base}${url}`, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
  const text = await res.text();
  return { status: res.status, json: () => JSON.parse(text) as Record<string, unknown> & { id: string }, text, headers: res.headers };
}

async function apiLogin(base: string, email: string, password: string): Promise<Session> {
  const res = await apiCall(base, 'POST', '/api/v1/auth/login', { body: { email, password } });
  if (res.status !== 200) throw new Error(`login ${res.status} ${res.text}`);
  const cookie = res.headers
    .getSetCookie()
    .find((c) => c.startsWith('mailroom_session='))!
    .split(';')[0]!;
  return { cookie, csrf: res.json().csrfToken as string };
}

async function pop3Login(port: number, user: string, pass: string): Promise<{ reply: string; client: LineClient }> {
  const c = await LineClient.connect(port);
  expect(await c.line()).toMatch(/^\+OK/);
  const u = await c.cmd(`USER ${user}`);
  if (!u.startsWith('+OK')) return { reply: u, client: c };
  return { reply: await c.cmd(`PASS ${pass}`), client: c };
}

async function lmtpDeliver(port: number, rcpt: string, n: number): Promise<string> {
  const c = await LineClient.connect(port);
  try {
    expect(await c.line()).toMatch(/^220 /);
    expect(await c.cmd('LHLO replicas.test', true)).toMatch(/^250 /);
    expect(await c.cmd('MAIL FROM:<sender@example.org>')).toMatch(/^250 /);
    expect(await c.cmd(`RCPT TO:<${rcpt}>`)).toMatch(/^250 /);
    expect(await c.cmd('DATA')).toMatch(/^354 /);
    const body = `From: sender@example.org\r\nTo: ${rcpt}\r\nSubject: replica ${n}\r\nMessage-ID: <${uniqueName('m')}@example.org>\r\n\r\n${'x'.repeat(100 + n * 37)}\r\n`;
    return await c.cmd(`${body}.`);
  } finally {
    c.destroy();
  }
}

describe('two API, two POP3, two ingress processes on one PostgreSQL, through PgBouncer (transaction pooling)', () => {
  let admin: Session;
  let owner: { id: string; email: string; password: string };
  let domainId: string;
  const mailboxes: { id: string; address: string; password: string }[] = [];
  const password = 'correct horse battery staple 42';

  it('provisions through one API process and reads back through the other', async () => {
    const hasher = createPasswordHasher(ARGON2);
    const adminEmail = `${uniqueName('admin')}@example.com`;
    await bootstrapAdmin(prisma, hasher, { email: adminEmail, password });
    admin = await apiLogin(api[0]!, adminEmail, password);
    owner = { id: '', email: `${uniqueName('owner')}@example.com`, password };
    const o = await apiCall(api[0]!, 'POST', '/api/v1/owners', { session: admin, body: { email: owner.email, password } });
    expect(o.status, o.text).toBe(201);
    owner.id = o.json().id;
    const domain = `${uniqueName('replicas')}.example`;
    const d = await apiCall(api[0]!, 'POST', '/api/v1/domains', {
      session: admin,
      body: { name: domain, ownerId: owner.id, verified: true },
    });
    expect(d.status, d.text).toBe(201);
    domainId = d.json().id;
    for (const localPart of ['inbox', 'throttled']) {
      const m = await apiCall(api[1]!, 'POST', `/api/v1/domains/${domainId}/mailboxes`, {
        session: await apiLogin(api[1]!, owner.email, password),
        body: { localPart, password },
      });
      expect(m.status, m.text).toBe(201);
      mailboxes.push({ id: m.json().id, address: `${localPart}@${domain}`, password });
    }
    expect((await apiCall(api[1]!, 'GET', `/api/v1/domains/${domainId}`, { session: admin })).status).toBe(200);
  });

  it('concurrent deliveries through both ingress processes to one mailbox: distinct, increasing UIDs and exact usage', async () => {
    const inbox = mailboxes[0]!;
    const round = async (from: number, count: number) => {
      const replies = await Promise.all(Array.from({ length: count }, (_, i) => lmtpDeliver(lmtp[i % 2]!, inbox.address, from + i)));
      for (const r of replies) expect(r).toMatch(/^250 /);
    };
    await round(0, 16);
    const first = await prisma.message.findMany({ where: { mailboxId: inbox.id }, select: { uid: true } });
    await round(16, 8);
    const all = await prisma.message.findMany({
      where: { mailboxId: inbox.id },
      select: { uid: true, sizeOctets: true, countsTowardQuota: true },
    });
    expect(first).toHaveLength(16);
    expect(all).toHaveLength(24);
    expect(new Set(all.map((m) => m.uid)).size).toBe(24);
    // the later round's UIDs all come after the earlier round's (UIDs only increase, whichever process stored them)
    const firstMax = Math.max(...first.map((m) => m.uid));
    const later = all.filter((m) => !first.some((f) => f.uid === m.uid));
    expect(Math.min(...later.map((m) => m.uid))).toBeGreaterThan(firstMax);
    const counted = all.filter((m) => m.countsTowardQuota).reduce((s, m) => s + BigInt(m.sizeOctets), 0n);
    const mb = await prisma.mailbox.findUniqueOrThrow({ where: { id: inbox.id }, select: { usedBytes: true, nextUid: true } });
    expect(mb.usedBytes).toBe(counted);
    expect(mb.nextUid).toBe(Math.max(...all.map((m) => m.uid)) + 1);
    const dom = await prisma.domain.findUniqueOrThrow({ where: { id: domainId }, select: { usedBytes: true } });
    expect(dom.usedBytes).toBe(counted);
  });

  it('a POP3 session on one process makes the other answer -ERR [IN-USE]', async () => {
    const inbox = mailboxes[0]!;
    const a = await pop3Login(pop3[0]!.port, inbox.address, inbox.password);
    expect(a.reply).toMatch(/^\+OK/);
    expect(await a.client.cmd('STAT')).toMatch(/^\+OK 24 /);
    const b = await pop3Login(pop3[1]!.port, inbox.address, inbox.password);
    expect(b.reply).toMatch(/^-ERR \[IN-USE\]/);
    b.client.destroy();
    expect(await a.client.cmd('QUIT')).toMatch(/^\+OK/);
    a.client.destroy();
    const again = await pop3Login(pop3[1]!.port, inbox.address, inbox.password);
    expect(again.reply).toMatch(/^\+OK/);
    expect(await again.client.cmd('QUIT')).toMatch(/^\+OK/);
    again.client.destroy();
  });

  it('an API key revoked through one API process is refused by the other within 1 s', async () => {
    const ownerOnA = await apiLogin(api[0]!, owner.email, owner.password);
    const k = await apiCall(api[0]!, 'POST', '/api/v1/api-keys', {
      session: ownerOnA,
      body: { name: 'replicas', scopes: ['domains:read'] },
    });
    expect(k.status, k.text).toBe(201);
    const key = k.json().key as string;
    // remembered by process B (a minute-long cache in this stack)
    expect((await apiCall(api[1]!, 'GET', '/api/v1/domains', { key })).status).toBe(200);
    expect((await apiCall(api[1]!, 'GET', '/api/v1/domains', { key })).status).toBe(200);
    expect((await apiCall(api[0]!, 'DELETE', `/api/v1/api-keys/${k.json().id}`, { session: ownerOnA })).status).toBe(200);
    await within(
      1_000,
      async () => (await apiCall(api[1]!, 'GET', '/api/v1/domains', { key })).status === 401,
      'revoked key refused by API B',
    );
  });

  it('a user disabled through one API process loses their keys on the other within 1 s', async () => {
    const email = `${uniqueName('disabled')}@example.com`;
    const u = await apiCall(api[1]!, 'POST', '/api/v1/owners', { session: admin, body: { email, password } });
    expect(u.status, u.text).toBe(201);
    const s = await apiLogin(api[1]!, email, password);
    const key = (await apiCall(api[1]!, 'POST', '/api/v1/api-keys', { session: s, body: { name: 'x', scopes: ['domains:read'] } })).json()
      .key as string;
    expect((await apiCall(api[0]!, 'GET', '/api/v1/domains', { key })).status).toBe(200);
    expect((await apiCall(api[1]!, 'PATCH', `/api/v1/owners/${u.json().id}`, { session: admin, body: { disabled: true } })).status).toBe(
      200,
    );
    await within(
      1_000,
      async () => (await apiCall(api[0]!, 'GET', '/api/v1/domains', { key })).status === 401,
      'disabled user refused by API A',
    );
  });

  it('failed logins through either process count together (POP3 and API)', async () => {
    const md = mailboxes[1]!;
    // three wrong passwords spread over both POP3 processes; then the right one through the process that saw only one
    for (const [i, port] of [pop3[0]!.port, pop3[1]!.port, pop3[0]!.port].entries()) {
      const r = await pop3Login(port, md.address, `wrong-${i}`);
      expect(r.reply).toMatch(/^-ERR \[AUTH\]/);
      r.client.destroy();
    }
    const refused = await pop3Login(pop3[1]!.port, md.address, md.password);
    expect(refused.reply).toMatch(/^-ERR \[SYS\/TEMP\] Too many failed logins/);
    refused.client.destroy();

    const email = `${uniqueName('throttled')}@example.com`;
    expect((await apiCall(api[0]!, 'POST', '/api/v1/owners', { session: admin, body: { email, password } })).status).toBe(201);
    for (const [i, base] of [api[0]!, api[1]!, api[0]!].entries()) {
      expect((await apiCall(base, 'POST', '/api/v1/auth/login', { body: { email, password: `wrong password ${i}` } })).status).toBe(401);
    }
    const apiRefused = await apiCall(api[1]!, 'POST', '/api/v1/auth/login', { body: { email, password } });
    expect(apiRefused.status, apiRefused.text).toBe(429);
    expect(apiRefused.json().code).toBe('THROTTLED');
  });

  it('the worker runs its queue through PgBouncer too: a webhook for a change made through one API process arrives', async () => {
    const ownerOnA = await apiLogin(api[0]!, owner.email, owner.password);
    const url = `http://127.0.0.1:${(hooks.address() as { port: number }).port}/hook`;
    const w = await apiCall(api[0]!, 'POST', '/api/v1/webhooks', { session: ownerOnA, body: { url, eventTypes: ['mailbox.created'] } });
    expect(w.status, w.text).toBe(201);
    const m = await apiCall(api[1]!, 'POST', `/api/v1/domains/${domainId}/mailboxes`, {
      session: await apiLogin(api[1]!, owner.email, password),
      body: { localPart: 'hooked', password },
    });
    expect(m.status, m.text).toBe(201);
    await within(
      60_000,
      () => received.some((b) => b.includes('mailbox.created') && b.includes(m.json().id)),
      'webhook delivered by the worker',
    );
  });

  it('every pool really went through PgBouncer', async () => {
    expect(await bouncer.transactions()).toBeGreaterThan(50);
  });

  it('after kill -9 of a POP3 process holding a maildrop, the other lets the user in (issue: within 15 s)', async () => {
    const inbox = mailboxes[0]!;
    const held = await pop3Login(pop3[0]!.port, inbox.address, inbox.password);
    expect(held.reply).toMatch(/^\+OK/);
    pop3[0]!.entry.child.kill('SIGKILL');
    await pop3[0]!.entry.exited;
    held.client.destroy();
    const tookMs = await within(
      15_000,
      async () => {
        const r = await pop3Login(pop3[1]!.port, inbox.address, inbox.password);
        r.client.destroy();
        return r.reply.startsWith('+OK');
      },
      'login through the surviving POP3 process',
    );
    console.log(`maildrop free for the other POP3 process ${tookMs} ms after kill -9 of its holder`);
  });
});
