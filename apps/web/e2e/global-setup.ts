/**
 * Starts the whole Mailroom stack the way an operator does (scripts/start.ts: migrate, bootstrap the admin, spawn
 * API, POP3, ingress and the panel's server.ts), on free ports, a fresh database and a temporary data directory. Tests learn
 * the addresses from MAILROOM_E2E_* variables. The returned function stops the stack with SIGTERM and cleans up.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireTestServer, createTestDatabase, freeStackPorts } from '@mailroom/db/testing';
import { startE2eDns } from './test-dns';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.resolve(WEB_DIR, '../..');
const START_TIMEOUT_MS = 120_000;
/**
 * The hosts the domain records name (MX, autoconfig CNAMEs): names, so the journeys can publish them in the test zones.
 * Two MX hosts, as an operator with two ingress names sets them, so every journey through the DNS guide sees both.
 */
const MX_HOST = 'mx.mailroom.test';
const MX_BACKUP_HOST = 'mx2.mailroom.test';
const MX_SETTING = `10 ${MX_HOST}, 20 ${MX_BACKUP_HOST}`;
const WEB_HOST = 'panel.mailroom.test';

async function waitForOk(url: string, deadline: number, failed: () => string | undefined): Promise<void> {
  for (;;) {
    const why = failed();
    if (why) throw new Error(why);
    try {
      const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(5_000) });
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${url}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Signals a process group; false when it no longer exists. */
function killGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const ports = Object.fromEntries(Object.entries(await freeStackPorts()).map(([name, port]) => [name, String(port)]));

  const pg = await acquireTestServer();
  const db = await createTestDatabase(pg.adminUrl, 'web_e2e');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-e2e-'));
  const adminEmail = `admin-${randomBytes(3).toString('hex')}@e2e.mailroom.test`;
  const adminPassword = `E2e-${randomBytes(12).toString('base64url')}`;

  const logDir = path.join(WEB_DIR, '.test-results');
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(path.join(logDir, 'stack.log'));

  const dns = await startE2eDns();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...ports,
    NODE_ENV: 'production',
    LOG_LEVEL: process.env.MAILROOM_E2E_LOG_LEVEL ?? 'info',
    MAILROOM_HOST: '127.0.0.1',
    MAILROOM_PUBLIC_HOST: '127.0.0.1',
    MAILROOM_DATA_DIR: dataDir,
    DATABASE_URL: db.url,
    MAILROOM_ADMIN_EMAIL: adminEmail,
    MAILROOM_ADMIN_PASSWORD: adminPassword,
    ARGON2_MEMORY_KIB: '1024',
    ARGON2_TIME_COST: '1',
    NEXT_TELEMETRY_DISABLED: '1',
    // Ownership verification and record checks resolve through the test DNS servers (e2e/test-dns.ts).
    MAILROOM_DNS_SERVERS: dns.servers,
    MAILROOM_DNS_TIMEOUT_MS: '2000',
    MAILROOM_MX_HOST: MX_SETTING,
    MAILROOM_WEB_HOST: WEB_HOST,
    // The webhook journey's receiver listens on loopback, which the SSRF guard refuses otherwise.
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_DISPATCH_INTERVAL_MS: '300',
    // journey 7 watches a failing endpoint get disabled: two failed attempts a second or two apart are enough here
    WEBHOOK_RETRY_DELAY_SECONDS: '1',
    WEBHOOK_DISABLE_AFTER_FAILURES: '2',
    WEBHOOK_DISABLE_AFTER_HOURS: '0',
    // Passkeys: browsers take no IP address as RP ID, so the passkey journey opens the panel as http://localhost:<port>.
    WEBAUTHN_RP_ID: 'localhost',
    WEBAUTHN_ORIGIN: `http://localhost:${ports.WEB_PORT}`,
  };
  delete env.API_INTERNAL_URL;
  // Not set on purpose: scripts/start.ts passes the ports it listens on, which the connection card and the
  // autoconfig answers must then show (autoconfig.spec.ts checks them against MAILROOM_E2E_POP3(S)_PORT).
  delete env.MAILROOM_PUBLIC_POP3_PORT;
  delete env.MAILROOM_PUBLIC_POP3S_PORT;
  delete env.MAILROOM_SECRET;

  // Its own process group, so teardown can make sure no service outlives the run even if one hangs on shutdown.
  const child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'scripts/start.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // If the runner dies without tearing down (e.g. killed), do not leave the stack behind.
  process.once('exit', () => killGroup(-child.pid!, 'SIGKILL'));
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  let exited: string | undefined;
  const exitedPromise = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = `the Mailroom stack exited during start-up (code ${code}, signal ${signal}); see apps/web/.test-results/stack.log`;
      resolve();
    }),
  );

  const web = `http://127.0.0.1:${ports.WEB_PORT}`;
  const api = `http://127.0.0.1:${ports.API_PORT}`;
  async function stop(): Promise<void> {
    const group = -child.pid!;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM'); // start.ts stops every service gracefully
      const force = setTimeout(() => killGroup(group, 'SIGKILL'), 30_000);
      await exitedPromise;
      clearTimeout(force);
    }
    // Anything of the stack's process group still alive now is stuck: end it.
    if (killGroup(group, 0)) {
      killGroup(group, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 2_000));
      killGroup(group, 'SIGKILL');
    }
    log.end();
    await db.drop().catch(() => undefined);
    await pg.stop().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
    await dns.close().catch(() => undefined);
  }

  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    await waitForOk(`${api}/healthz`, deadline, () => exited);
    await waitForOk(`${web}/login`, deadline, () => exited);
    await waitForOk(`${web}/api/v1/me`, deadline, () => exited); // the panel's proxy reaches the API
  } catch (err) {
    await stop();
    throw err;
  }

  Object.assign(process.env, {
    MAILROOM_E2E_WEB_URL: web,
    MAILROOM_E2E_API_URL: api,
    MAILROOM_E2E_ADMIN_EMAIL: adminEmail,
    MAILROOM_E2E_ADMIN_PASSWORD: adminPassword,
    MAILROOM_E2E_POP3_PORT: ports.POP3_PORT,
    MAILROOM_E2E_POP3S_PORT: ports.POP3S_PORT,
    MAILROOM_E2E_LMTP_PORT: ports.LMTP_PORT,
    MAILROOM_E2E_SMTP_PORT: ports.SMTP_PORT,
    MAILROOM_E2E_DNS_CONTROL: dns.controlUrl,
    MAILROOM_E2E_DNS_SERVERS: dns.servers,
    MAILROOM_E2E_MX_HOST: MX_HOST,
    MAILROOM_E2E_MX_BACKUP_HOST: MX_BACKUP_HOST,
    MAILROOM_E2E_MX_SETTING: MX_SETTING,
    MAILROOM_E2E_WEB_HOST: WEB_HOST,
    MAILROOM_E2E_DATABASE_URL: db.url,
  });
  return stop;
}
