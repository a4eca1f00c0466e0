import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrismaClient } from '@mailroom/db';
import { testDatabaseUrl } from '@mailroom/db/testing';
import { NODE_FLAGS_MISSING, workspaceNodeFlags } from '@mailroom/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createMaildrop,
  deliver,
  eventually,
  makeMessage,
  ownNetwork,
  Pop3TestClient,
  TEST_ARGON2,
  useTestServer,
  type TestServer,
} from './helpers.ts';

const PKG = fileURLToPath(new URL('..', import.meta.url));
/** Every child's MAILROOM_DATA_DIR (its generated certificate) lives under this one, removed after the file's tests. */
const CHILD_DATA_DIRS = mkdtempSync(path.join(os.tmpdir(), 'pop3-children-'));

interface Child {
  proc: ChildProcess;
  port: number;
  tlsPort: number;
  metricsPort: number;
  holder: string;
  exited: Promise<number | null>;
  output(): string;
}

/** Runs the real entry point (src/main.ts) in its own process, as `npm start` does (with its package.json's Node flags). */
async function spawnPop3(env: Record<string, string> = {}, nodeFlags = workspaceNodeFlags(PKG)): Promise<Child> {
  const proc = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', 'src/main.ts'], {
    cwd: PKG,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: testDatabaseUrl(),
      MAILROOM_DATA_DIR: mkdtempSync(path.join(CHILD_DATA_DIRS, 'child-')),
      POP3_PORT: '0',
      POP3S_PORT: '0',
      POP3_METRICS_PORT: '0',
      ARGON2_MEMORY_KIB: String(TEST_ARGON2.memoryKib),
      ARGON2_TIME_COST: String(TEST_ARGON2.timeCost),
      ARGON2_PARALLELISM: String(TEST_ARGON2.parallelism),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  let out = '';
  proc.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not start: ${out}`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d;
      for (const line of out.split('\n')) {
        if (!line.includes('"msg":"listening"')) continue;
        const j = JSON.parse(line);
        clearTimeout(timer);
        resolve({ proc, port: j.pop3, tlsPort: j.pop3s, metricsPort: j.metrics, holder: j.holder, exited, output: () => out });
        return;
      }
    });
    void exited.then((code) => reject(new Error(`child exited with ${code}: ${out}`)));
  });
}

let prisma: PrismaClient;
let srv: TestServer;
useTestServer((started) => ({ prisma, srv } = started));

const children: Child[] = [];
// after hooks run in reverse order (vitest's default sequence.hooks 'stack'): the children are killed (and their data
// directories removed) before the server closes
afterAll(() => {
  for (const c of children) c.proc.kill('SIGKILL');
  rmSync(CHILD_DATA_DIRS, { recursive: true, force: true });
});

/**
 * The child processes throttle for real (they wait at most a few seconds, then refuse): from 127.0.0.1 their logins
 * would count the wrong passwords other test files send meanwhile (CI failed on that: "Too many failed logins").
 */
const CLIENT_ADDRESS = ownNetwork();

async function tryLogin(port: number, address: string, password: string): Promise<{ reply: string; client: Pop3TestClient }> {
  const c = await Pop3TestClient.connect(port, { localAddress: CLIENT_ADDRESS });
  await c.greeting();
  return { reply: await c.login(address, password), client: c };
}

/** The entry's warning that it was started without the Node flags its package.json declares, if it logged one. */
function startWarning(child: Child): { missing?: string[] } | undefined {
  for (const line of child.output().split('\n')) {
    if (line.includes(NODE_FLAGS_MISSING)) return JSON.parse(line) as { missing?: string[] };
  }
  return undefined;
}

describe('two processes, one maildrop', () => {
  it('the lock holds across processes, is renewed while held, and lapses after the holder is killed', async () => {
    // The child renews every third of the TTL, so only a stall of the child over two thirds of it (2.7 s) lets the lease
    // lapse, and the test would fail for nothing on a loaded machine.
    // started without its Node flags (as a launcher that forgot them would): it runs, and says which are missing
    const child = await spawnPop3({ POP3_LEASE_TTL_S: '4' }, []);
    children.push(child);
    expect(startWarning(child)?.missing).toEqual(['--no-memory-reducer']);
    const md = await createMaildrop(prisma);
    await deliver(prisma, md.mailboxId, makeMessage());

    const inChild = await tryLogin(child.port, md.address, md.password);
    expect(inChild.reply, child.output()).toBe('+OK Logged in.');
    const here = await tryLogin(srv.port, md.address, md.password);
    expect(here.reply).toBe('-ERR [IN-USE] Mailbox is locked by another POP3 session.');
    here.client.destroy();

    // longer than the lease TTL: the child keeps renewing, so the lock still holds
    await new Promise((r) => setTimeout(r, 5000));
    const again = await tryLogin(srv.port, md.address, md.password);
    expect(again.reply).toMatch(/^-ERR \[IN-USE\]/);
    again.client.destroy();

    // the holder crashes with the session open: its lease is left behind, then goes (a dead pid of this machine: at once)
    child.proc.kill('SIGKILL');
    await child.exited;
    expect((await prisma.maildropLease.findUnique({ where: { mailboxId: md.mailboxId } }))?.holder).toBe(child.holder);
    const taken = await eventually(async () => {
      const t = await tryLogin(srv.port, md.address, md.password);
      if (t.reply === '+OK Logged in.') return t;
      expect(t.reply).toMatch(/^-ERR \[IN-USE\]/);
      t.client.destroy();
      return undefined;
    });
    expect(await taken.client.cmd('STAT')).toMatch(/^\+OK 1 /);

    // and the other way round: this process holds it, a fresh process is refused
    const child2 = await spawnPop3();
    children.push(child2);
    const refused = await tryLogin(child2.port, md.address, md.password);
    expect(refused.reply).toMatch(/^-ERR \[IN-USE\]/);
    refused.client.destroy();
    taken.client.destroy();
    child2.proc.kill('SIGKILL');
  }, 120_000); // spawns two server processes (tsx compiles each): generous under a loaded 2-core CI

  it('the entry point shuts down gracefully on SIGTERM: sessions told, leases released, nothing deleted', async () => {
    const child = await spawnPop3();
    children.push(child);
    expect(startWarning(child)).toBeUndefined();
    const md = await createMaildrop(prisma);
    await deliver(prisma, md.mailboxId, makeMessage());
    const { reply, client } = await tryLogin(child.port, md.address, md.password);
    expect(reply).toBe('+OK Logged in.');
    expect(await client.cmd('DELE 1')).toMatch(/^\+OK/);
    const health = await fetch(`http://127.0.0.1:${child.metricsPort}/readyz`);
    expect(health.status).toBe(200);
    child.proc.kill('SIGTERM');
    expect(await client.line()).toBe('-ERR [SYS/TEMP] Server shutting down.');
    await client.closed();
    expect(await child.exited).toBe(0);
    expect(await prisma.maildropLease.count({ where: { holder: child.holder } })).toBe(0);
    expect(await prisma.message.count({ where: { mailboxId: md.mailboxId } })).toBe(1);
  });
});
