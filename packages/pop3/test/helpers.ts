import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { AuthThrottle, createPasswordHasher, type PasswordHasher } from '@mailroom/core';
import { copyMessageParts, createPrismaClientWithPool, newId, type PgPool, type PrismaClient } from '@mailroom/db';
import { testDatabaseUrl, uniqueName } from '@mailroom/db/testing';
import { createLogger, type TlsMaterial } from '@mailroom/runtime';
import { temporaryTlsMaterial } from '@mailroom/runtime/testing';
import { afterAll, beforeAll, expect, onTestFinished } from 'vitest';
import type { Pop3Config } from '../src/config.ts';
import { PrismaMaildropStore, type PrismaMaildropStoreOptions } from '../src/prisma-store.ts';
import { createPop3Server, type Pop3Server } from '../src/server.ts';

/** Cheap argon2id for tests (the bench uses production-grade parameters). */
export const TEST_ARGON2 = { memoryKib: 1024, timeCost: 1, parallelism: 1 };
export const TEST_SECRET = 'pop3-test-secret';

let hasherSingleton: PasswordHasher | undefined;
export function testHasher(): PasswordHasher {
  return (hasherSingleton ??= createPasswordHasher(TEST_ARGON2));
}

/** Fixtures hash hundreds of passwords at once (Promise.all): their own hasher, so the server's bounded queue is not theirs. */
let fixtureHasherSingleton: PasswordHasher | undefined;
function fixtureHasher(): PasswordHasher {
  return (fixtureHasherSingleton ??= createPasswordHasher({ ...TEST_ARGON2, maxQueue: 100_000 }));
}

/**
 * A client address of its own (127.x.y.1 is loopback, its own /24), so a test does not share the network's throttle
 * count with the failed logins other test files make from 127.0.0.1 against the same database meanwhile.
 */
export function ownNetwork(): string {
  return `127.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}.1`;
}

const pools = new WeakMap<PrismaClient, PgPool>();

/** A Prisma client like main.ts builds it (its pg pool is remembered for poolOf / the default test server store). */
export function openPrisma(url = testDatabaseUrl()): PrismaClient {
  const { prisma, pool } = createPrismaClientWithPool(url, { applicationName: 'pop3-test', maxConnections: 10, reuseReadBuffers: true });
  pools.set(prisma, pool);
  return prisma;
}

export function poolOf(prisma: PrismaClient): PgPool | undefined {
  return pools.get(prisma);
}

/** The test file's Prisma client: opened before its tests (handed to `use`), disconnected after them. */
export function useTestDatabase(use: (prisma: PrismaClient) => void): void {
  let prisma: PrismaClient | undefined;
  beforeAll(() => {
    prisma = openPrisma();
    use(prisma);
  });
  afterAll(async () => {
    await prisma?.$disconnect();
  });
}

/**
 * The test file's Prisma client and one POP3 server on it (startServer with `overrides`), shared by the file's tests:
 * started before them (handed to `use`), closed after them, the server first.
 */
export function useTestServer(
  use: (started: { prisma: PrismaClient; srv: TestServer }) => void,
  overrides: Partial<Pop3Config> = {},
): void {
  let prisma: PrismaClient | undefined;
  let srv: TestServer | undefined;
  beforeAll(async () => {
    prisma = openPrisma();
    srv = await startServer(prisma, overrides);
    use({ prisma, srv });
  });
  afterAll(async () => {
    await srv?.close();
    await prisma?.$disconnect();
  });
}

let tlsMaterial: Promise<TlsMaterial> | undefined;
/** A temporary directory for the running test (a client's configuration, a proxy's), removed when the test ends. */
export function testTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The self-signed certificate test servers present, generated once per process; nothing left on disk. */
export function testTls(): Promise<TlsMaterial> {
  tlsMaterial ??= temporaryTlsMaterial('localhost');
  return tlsMaterial;
}

export interface TestMaildrop {
  address: string;
  password: string;
  mailboxId: string;
  domainId: string;
  domain: string;
  localPart: string;
}

/** An owner, a domain and one mailbox, all uniquely named. */
export async function createMaildrop(
  prisma: PrismaClient,
  opts: {
    password?: string;
    enabled?: boolean;
    domainActive?: boolean;
    loginDelaySeconds?: number | null;
    domainLoginDelaySeconds?: number | null;
    retentionDays?: number | null;
    mailboxRetentionDays?: number | null;
  } = {},
): Promise<TestMaildrop> {
  const password = opts.password ?? `pw-${randomBytes(6).toString('hex')}`;
  const name = uniqueName('p');
  const domain = `${name}.example.com`;
  const localPart = 'user';
  const owner = await prisma.user.create({ data: { email: `owner@${domain}`, passwordHash: 'x', role: 'OWNER' } });
  const d = await prisma.domain.create({
    data: {
      name: domain,
      ownerId: owner.id,
      active: opts.domainActive ?? true,
      loginDelaySeconds: opts.domainLoginDelaySeconds ?? null,
      retentionDays: opts.retentionDays ?? null,
      verifiedAt: new Date(),
    },
  });
  const m = await prisma.mailbox.create({
    data: {
      domainId: d.id,
      localPart,
      passwordHash: await fixtureHasher().hash(password),
      enabled: opts.enabled ?? true,
      loginDelaySeconds: opts.loginDelaySeconds ?? null,
      retentionDays: opts.mailboxRetentionDays ?? null,
    },
  });
  return { address: `${localPart}@${domain}`, password, mailboxId: m.id, domainId: d.id, domain, localPart };
}

export interface StoredMessage {
  id: string;
  uid: number;
  uidl: string;
  raw: Buffer;
}

/** Delivers a message the way ingress does: next uid, usage counters of mailbox and domain, all in one transaction. */
export async function deliver(prisma: PrismaClient, mailboxId: string, raw: Buffer | string): Promise<StoredMessage> {
  const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'binary');
  const id = newId();
  return prisma.$transaction(
    async (tx) => {
      const [row] = await tx.$queryRaw<{ uid: number; domain_id: string }[]>`
      UPDATE mailboxes SET next_uid = next_uid + 1, used_bytes = used_bytes + ${bytes.length}::bigint, message_count = message_count + 1
      WHERE id = ${mailboxId}::uuid RETURNING next_uid - 1 AS uid, domain_id`;
      const uid = Number(row!.uid);
      const uidl = `${uid.toString(16).padStart(8, '0')}${id.slice(0, 8)}`;
      await tx.$executeRaw`UPDATE domains SET used_bytes = used_bytes + ${bytes.length}::bigint WHERE id = ${row!.domain_id}::uuid`;
      await tx.$executeRaw`
      INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw) VALUES (${id}::uuid, ${mailboxId}::uuid, ${uid}, ${uidl}, ${bytes.length}, ${bytes})`;
      return { id, uid, uidl, raw: bytes };
    },
    // Prisma's default of 5 s is for a request's own work: storing a 32 MiB message whole took 9.4 s on a loaded
    // machine (three suites at once), and the expired transaction failed the test before it began.
    { timeout: 60_000 },
  );
}

/**
 * Stores a message as the ingress stores a large one: `raw` holds its first `headOctets`, the rest goes to
 * message_parts through the ingress's own COPY (copyMessageParts), in one transaction with the usage counters.
 */
export async function deliverInParts(prisma: PrismaClient, mailboxId: string, bytes: Buffer, headOctets: number): Promise<StoredMessage> {
  const pool = poolOf(prisma)!;
  const client = await pool.connect();
  const id = newId();
  try {
    await client.query('BEGIN');
    await copyMessageParts(client, [{ messageId: id, headOctets, body: bytes.subarray(headOctets) }]);
    const { rows } = await client.query<{ uid: number; domain_id: string }>(
      `UPDATE mailboxes SET next_uid = next_uid + 1, used_bytes = used_bytes + $2::bigint, message_count = message_count + 1
        WHERE id = $1::uuid RETURNING next_uid - 1 AS uid, domain_id`,
      [mailboxId, bytes.length],
    );
    const uid = Number(rows[0]!.uid);
    const uidl = `${uid.toString(16).padStart(8, '0')}${id.slice(0, 8)}`;
    await client.query('UPDATE domains SET used_bytes = used_bytes + $2::bigint WHERE id = $1::uuid', [rows[0]!.domain_id, bytes.length]);
    await client.query('INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw) VALUES ($1, $2, $3, $4, $5, $6)', [
      id,
      mailboxId,
      uid,
      uidl,
      bytes.length,
      bytes.subarray(0, headOctets),
    ]);
    await client.query('COMMIT');
    return { id, uid, uidl, raw: bytes };
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

/** A simple RFC 5322 message in CRLF wire form. */
export function makeMessage(opts: { subject?: string; body?: string; headers?: string[] } = {}): Buffer {
  const headers = [
    'From: Alice <alice@example.org>',
    'To: user@example.com',
    `Subject: ${opts.subject ?? 'hello'}`,
    `Message-ID: <${randomBytes(8).toString('hex')}@example.org>`,
    ...(opts.headers ?? []),
  ];
  const body = opts.body ?? 'Hello there.\r\n';
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}`, 'utf8');
}

export function testConfig(overrides: Partial<Pop3Config> = {}): Pop3Config {
  return {
    host: '127.0.0.1',
    port: 0,
    tlsPort: 0,
    metricsPort: null,
    metricsHost: '127.0.0.1',
    maxConnections: 1000,
    maxConnectionsPerIp: 1000,
    networkPrefixes: { ipv4Prefix: 32, ipv6Prefix: 64 },
    loginDelaySeconds: 0,
    retentionDays: null,
    idleTimeoutMs: 600_000,
    authTimeoutMs: 60_000,
    authDeadlineMs: 600_000,
    retrMinBytesPerSec: 0,
    retrRateWindowMs: 60_000,
    maxLineOctets: 2048,
    maxBadCommands: 10,
    allowPlaintextAuth: false,
    leaseTtlMs: 60_000,
    // The test servers' sleep() only records the wait, so throttle turns run ahead of real time: allow long ones.
    throttleMaxSleepMs: 60_000,
    shutdownGraceMs: 5_000,
    implementation: 'Mailroom',
    ...overrides,
  };
}

export interface TestServer {
  server: Pop3Server;
  port: number;
  tlsPort: number;
  /** Delays the throttle asked for, in order. */
  delays: number[];
  store: PrismaMaildropStore;
  close(): Promise<void>;
}

/** How test stores check passwords: the test hasher and the throttle keyed with TEST_SECRET (on `prisma`). */
export function testAuth(prisma: PrismaClient): { hasher: PasswordHasher; throttle: AuthThrottle } {
  return { hasher: testHasher(), throttle: new AuthThrottle(prisma, TEST_SECRET) };
}

/**
 * The store a test server runs on: testAuth, and the client's pg pool (the COPY streaming path) when openPrisma made
 * it; `opts` replaces any of these or adds options.
 */
export function testStore(prisma: PrismaClient, opts: Partial<PrismaMaildropStoreOptions> = {}): PrismaMaildropStore {
  return new PrismaMaildropStore({ prisma, pool: poolOf(prisma), ...testAuth(prisma), ...opts });
}

export async function startServer(
  prisma: PrismaClient,
  overrides: Partial<Pop3Config> = {},
  opts: { store?: PrismaMaildropStore } = {},
): Promise<TestServer> {
  const store = opts.store ?? testStore(prisma);
  const delays: number[] = [];
  const material = await testTls();
  const server = createPop3Server({
    store,
    config: testConfig(overrides),
    logger: createLogger('pop3-test', process.env.TEST_LOG_LEVEL ?? 'silent'),
    tls: material,
    sleep: async (ms) => {
      delays.push(ms);
    },
  });
  const ports = await server.listen();
  return { server, port: ports.pop3, tlsPort: ports.pop3s!, delays, store, close: () => server.close() };
}

/** Runs `fn` against a server of its own, closing it whatever happens. */
export async function withServer<T>(
  prisma: PrismaClient,
  overrides: Partial<Pop3Config>,
  fn: (srv: TestServer) => Promise<T>,
  opts: { store?: PrismaMaildropStore } = {},
): Promise<T> {
  const srv = await startServer(prisma, overrides, opts);
  try {
    return await fn(srv);
  } finally {
    await srv.close();
  }
}

/** A small POP3 client speaking raw lines, for asserting exact protocol bytes. */
export class Pop3TestClient {
  /** Received, unread octets: `store[start, end)`, grown by doubling so a multi-MB download is not copied per packet. */
  private store = Buffer.alloc(64 * 1024);
  private start = 0;
  private end = 0;
  /** Where rawBody() resumes looking for the terminator. */
  private scanned = 0;
  private waiters: (() => void)[] = [];
  ended = false;
  socket: net.Socket | tls.TLSSocket;

  private constructor(socket: net.Socket | tls.TLSSocket) {
    this.socket = socket;
    this.listen(socket);
  }

  private listen(socket: net.Socket | tls.TLSSocket) {
    socket.on('data', (d: Buffer) => {
      this.append(d);
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private get buf(): Buffer {
    return this.store.subarray(this.start, this.end);
  }

  private append(d: Buffer) {
    if (this.end + d.length > this.store.length) {
      const unread = this.end - this.start;
      const grown = Buffer.alloc(Math.max(this.store.length, 2 * (unread + d.length)));
      this.store.copy(grown, 0, this.start, this.end);
      this.store = grown;
      this.scanned -= this.start;
      this.start = 0;
      this.end = unread;
    }
    d.copy(this.store, this.end);
    this.end += d.length;
  }

  private consume(octets: number) {
    this.start += octets;
    this.scanned = 0;
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  /** `localAddress` binds the client end (e.g. 127.0.0.2: Linux routes all of 127/8 to loopback). */
  static async connect(port: number, opts: { tls?: boolean; host?: string; localAddress?: string } = {}): Promise<Pop3TestClient> {
    const host = opts.host ?? '127.0.0.1';
    const { localAddress } = opts;
    const socket = opts.tls
      ? tls.connect({ socket: net.connect({ port, host, localAddress }), rejectUnauthorized: false, servername: 'localhost' })
      : net.connect({ port, host, localAddress });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new Pop3TestClient(socket);
  }

  private async waitFor<T>(take: () => T | undefined, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = take();
      if (v !== undefined) return v;
      if (this.ended) throw new Error(`connection closed; unread: ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting; unread: ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** One response line without CRLF. */
  async line(): Promise<string> {
    return this.waitFor(() => {
      const i = this.buf.indexOf('\r\n');
      if (i < 0) return undefined;
      const l = this.buf.toString('latin1', 0, i);
      this.consume(i + 2);
      return l;
    });
  }

  /** Raw octets of a multi-line body up to and including the terminator (still dot-stuffed). */
  async rawBody(): Promise<Buffer> {
    return this.waitFor(() => {
      if (this.buf.length >= 3 && this.buf.subarray(0, 3).equals(Buffer.from('.\r\n'))) {
        this.consume(3);
        return Buffer.from('.\r\n');
      }
      const i = this.buf.indexOf('\r\n.\r\n', this.scanned);
      if (i < 0) {
        this.scanned = Math.max(0, this.buf.length - 4);
        return undefined;
      }
      const b = Buffer.from(this.buf.subarray(0, i + 5));
      this.consume(i + 5);
      return b;
    });
  }

  /** A multi-line body with the terminator removed and dot-stuffing undone. */
  async body(): Promise<Buffer> {
    return unstuff(await this.rawBody());
  }

  async lines(): Promise<string[]> {
    const b = (await this.body()).toString('latin1');
    return b === '' ? [] : b.replace(/\r\n$/, '').split('\r\n');
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async cmd(command: string): Promise<string> {
    this.write(`${command}\r\n`);
    return this.line();
  }

  /** Sends a command expecting a multi-line answer; returns the status line and the unstuffed body. */
  async multi(command: string): Promise<{ status: string; body: Buffer }> {
    const status = await this.cmd(command);
    if (!status.startsWith('+OK')) return { status, body: Buffer.alloc(0) };
    return { status, body: await this.body() };
  }

  async greeting(): Promise<string> {
    return this.line();
  }

  async login(user: string, password: string): Promise<string> {
    const u = await this.cmd(`USER ${user}`);
    if (!u.startsWith('+OK')) return u;
    return this.cmd(`PASS ${password}`);
  }

  /** Upgrades after an +OK to STLS. */
  async startTls(): Promise<void> {
    const plain = this.socket as net.Socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    this.start = this.end = this.scanned = 0;
    const secure = tls.connect({ socket: plain, rejectUnauthorized: false, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
  }

  /** Resolves once the server has closed the connection. */
  async closed(timeoutMs = 20_000): Promise<void> {
    await this.waitFor(() => (this.ended ? true : undefined), timeoutMs).catch((err) => {
      if (!this.ended) throw err;
    });
  }

  /** Everything left unread. */
  rest(): string {
    return this.buf.toString('latin1');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** What the server answers every refused login, whatever was wrong (no hint for a guesser). */
export const AUTH_FAILED = '-ERR [AUTH] Authentication failed.';

/** One connection (from `localAddress` if given), one USER/PASS login, closed again: the server's reply to the login. */
export async function loginOnce(port: number, user: string, password: string, localAddress?: string): Promise<string> {
  const c = await Pop3TestClient.connect(port, { localAddress });
  try {
    await c.greeting();
    return await c.login(user, password);
  } finally {
    c.destroy();
  }
}

/**
 * A new maildrop holding one message, and a client on `port` logged in to it that has marked that message deleted
 * (DELE 1 answered +OK): the start of every test of a session that ends without QUIT applying its deletions.
 */
export async function sessionWithPendingDeletion(prisma: PrismaClient, port: number): Promise<{ md: TestMaildrop; c: Pop3TestClient }> {
  const md = await createMaildrop(prisma);
  await deliver(prisma, md.mailboxId, makeMessage());
  const c = await Pop3TestClient.connect(port);
  await c.greeting();
  expect(await c.login(md.address, md.password)).toBe('+OK Logged in.');
  expect(await c.cmd('DELE 1')).toMatch(/^\+OK/);
  return { md, c };
}

export function unstuff(raw: Buffer): Buffer {
  let s = raw;
  if (s.subarray(s.length - 3).equals(Buffer.from('.\r\n'))) s = s.subarray(0, s.length - 3);
  const parts: Buffer[] = [];
  let start = 0;
  if (s[0] === 0x2e) start = 1;
  let i = s.indexOf('\n.', start);
  while (i !== -1) {
    parts.push(s.subarray(start, i + 1));
    start = i + 2;
    i = s.indexOf('\n.', start);
  }
  parts.push(s.subarray(start));
  return Buffer.concat(parts);
}

/** Polls until `check` passes (for state that other processes change); no timing is asserted. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface CuttableProxy {
  /** The database URL, through the proxy. */
  url: string;
  /** The database becomes unreachable: open connections are reset, new ones are reset on accept. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** A TCP proxy in front of PostgreSQL, for taking the database away from a server mid-session (real sockets). */
export async function cuttableProxy(targetUrl: string): Promise<CuttableProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  let cutOff = false;
  const track = (sock: net.Socket) => {
    sockets.add(sock);
    sock.on('error', () => undefined);
    sock.on('close', () => sockets.delete(sock));
  };
  const server = net.createServer((client) => {
    track(client);
    if (cutOff) return void client.resetAndDestroy();
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    cut() {
      cutOff = true;
      for (const sock of sockets) sock.resetAndDestroy();
    },
    restore() {
      cutOff = false;
    },
    async close() {
      for (const sock of sockets) sock.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
