import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeStackPorts, type StackPorts } from '@mailroom/db/testing';
import {
  apiLogin,
  greeting,
  logLines,
  pop3Login,
  portIsClosed,
  ROOT,
  servicePids,
  startStack,
  supervisorRestarts,
  type RunningStack,
} from './stack.ts';

/** Polls until `check` holds or `timeoutMs` passes (then fails with the last error): state the stack reaches on its own. */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const postmasterPid = (dataDir: string) => Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
/** PostgreSQL processes serving the data directory (pgrep on its path). */
const postgresRunning = (dataDir: string) => spawnSync('pgrep', ['-f', path.join(dataDir, 'pg')], { encoding: 'utf8' }).stdout.trim();
const SERVICES = ['api', 'pop3', 'ingress', 'worker', 'web'] as const;
/** Five services compiling at once on a loaded 2-core machine have taken over 150 s. */
const STARTUP_TIMEOUT_MS = 270_000;

// One stack for the kill cases; short backoff so restarts come quickly. The crash-loop case runs its own start.
describe('npm start supervises the stack', () => {
  let dataDir = '';
  let ports: StackPorts;
  let metricsPort = 0;
  let env: Record<string, string> = {};
  let stack: RunningStack | undefined;
  const admin = { email: 'supervise-admin@example.com', password: 'Supervise-Admin-Pw-1' };
  const mailbox = { address: '', password: 'Mailbox-Pw-2-supervised' };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'mr-supervise-'));
    ports = await freeStackPorts();
    metricsPort = ports.SUPERVISOR_METRICS_PORT;
    env = {
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      MAILROOM_DATA_DIR: dataDir,
      DATABASE_URL: '',
      MAILROOM_ADMIN_EMAIL: admin.email,
      MAILROOM_ADMIN_PASSWORD: admin.password,
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_TIME_COST: '1',
      LOG_FORMAT: 'json',
      SUPERVISOR_BACKOFF_MIN_MS: '100',
      SUPERVISOR_BACKOFF_MAX_MS: '1000',
    };
    stack = await startStack(env, STARTUP_TIMEOUT_MS);
    // a mailbox to log in to over POP3
    const call = await apiLogin(ports.API_PORT, admin.email, admin.password);
    const owner = await call<{ id: string }>('POST', '/owners', {
      email: 'supervise-owner@example.com',
      password: 'Owner-Pw-3-supervised',
    });
    const domain = await call<{ id: string }>('POST', '/domains', { name: 'supervise.example', ownerId: owner.id, verified: true });
    await call('POST', `/domains/${domain.id}/mailboxes`, { localPart: 'box', password: mailbox.password });
    mailbox.address = 'box@supervise.example';
  }, STARTUP_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    await stack?.stop('SIGKILL').catch(() => undefined);
    const pids = postgresRunning(dataDir);
    if (pids) for (const pid of pids.split('\n')) process.kill(Number(pid), 'SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('restarts a service killed with SIGKILL: logged with signal and delay, counted, serving again', async () => {
    expect(await pop3Login(ports.POP3_PORT, mailbox.address, mailbox.password)).toMatch(/^\+OK/);
    expect(await supervisorRestarts(metricsPort, 'pop3')).toBe(0);
    const [pid] = servicePids(stack!.output(), 'pop3');
    process.kill(pid!, 'SIGKILL');

    await until('pop3 restarted and ready', () =>
      logLines(stack!.output()).some((l) => l.service === 'pop3' && l.msg === 'service ready again'),
    );
    const restart = logLines(stack!.output()).find((l) => l.service === 'pop3' && l.signal === 'SIGKILL');
    expect(restart).toMatchObject({ level: 50, code: null, restarts: 1, delayMs: 100 });
    expect(await supervisorRestarts(metricsPort, 'pop3')).toBe(1);
    const pids = servicePids(stack!.output(), 'pop3');
    expect(pids).toHaveLength(2);
    expect(pids[1]).not.toBe(pid);
    expect(await greeting(ports.POP3_PORT)).toMatch(/^\+OK/);
    expect(await pop3Login(ports.POP3_PORT, mailbox.address, mailbox.password)).toMatch(/^\+OK/);
    // the other services were not touched
    for (const s of SERVICES.filter((n) => n !== 'pop3')) expect(await supervisorRestarts(metricsPort, s), s).toBe(0);
  });

  it('restarts the embedded PostgreSQL killed with SIGKILL; every service reconnects without a restart of its own', async () => {
    const before = Object.fromEntries(SERVICES.map((s) => [s, servicePids(stack!.output(), s)]));
    const oldPostmaster = postmasterPid(dataDir);
    process.kill(oldPostmaster, 'SIGKILL');

    await until(
      'postgres restarted',
      async () =>
        (await supervisorRestarts(metricsPort, 'postgres')) === 1 &&
        existsSync(path.join(dataDir, 'pg', 'postmaster.pid')) &&
        postmasterPid(dataDir) !== oldPostmaster,
    );
    // real work on each service again: logins over POP3 and the API, and every /readyz (a database ping)
    await until('POP3 login', async () => /^\+OK/.test(await pop3Login(ports.POP3_PORT, mailbox.address, mailbox.password)));
    await until('API login', async () => Boolean(await apiLogin(ports.API_PORT, admin.email, admin.password)));
    for (const p of [ports.API_PORT, ports.POP3_METRICS_PORT, ports.INGRESS_METRICS_PORT, ports.WORKER_METRICS_PORT]) {
      await until(`readyz on ${p}`, async () => (await fetch(`http://127.0.0.1:${p}/readyz`)).status === 200);
    }
    expect(await greeting(ports.LMTP_PORT)).toMatch(/^220 /);
    for (const s of SERVICES) {
      // on failure, the service's own errors and warnings say why it exited
      const said = logLines(stack!.output())
        .filter((l) => l.service === s && Number(l.level) >= 40)
        .map((l) => JSON.stringify(l))
        .slice(-15);
      expect(servicePids(stack!.output(), s), `${s} not restarted:\n${said.join('\n')}`).toEqual(before[s]);
      expect(await supervisorRestarts(metricsPort, s), s).toBe(s === 'pop3' ? 1 : 0);
    }
  });

  it(
    'after SIGKILL of the supervisor and PostgreSQL, the orphaned services stop, a new start comes up and its stop leaves no PostgreSQL',
    { timeout: STARTUP_TIMEOUT_MS + 60_000 },
    async () => {
      process.kill(stack!.child.pid!, 'SIGKILL');
      process.kill(postmasterPid(dataDir), 'SIGKILL');
      await once(stack!.child, 'exit');
      stack = undefined;
      // the services notice their supervisor is gone and stop (SIGTERM, SIGKILL after a grace period)
      for (const p of [ports.API_PORT, ports.WEB_PORT, ports.POP3_PORT, ports.LMTP_PORT, ports.WORKER_METRICS_PORT]) {
        await until(`port ${p} released`, () => portIsClosed(p), 30_000);
      }
      expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid')), 'stale postmaster.pid').toBe(true);

      // the point is the recovery of the killed PostgreSQL: API and POP3 are enough (the panel would add a minute)
      stack = await startStack({ ...env, SUPERVISOR_SERVICES: 'api,pop3' }, STARTUP_TIMEOUT_MS);
      expect(await pop3Login(ports.POP3_PORT, mailbox.address, mailbox.password)).toMatch(/^\+OK/);
      expect(await stack.stop('SIGTERM')).toBe(0);
      stack = undefined;
      expect(postgresRunning(dataDir), 'no PostgreSQL left').toBe('');
      expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
    },
  );

  it(
    'stops the whole stack when a service keeps crashing, naming it and its last output, with a non-zero exit',
    { timeout: STARTUP_TIMEOUT_MS },
    async () => {
      // an invalid POP3 setting: pop3 exits 1 at every start; the API beside it (the panel and the rest are not needed here)
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
        cwd: ROOT,
        env: {
          ...process.env,
          LOG_LEVEL: 'info',
          ...env,
          SUPERVISOR_SERVICES: 'api,pop3',
          POP3_IDLE_TIMEOUT_S: '5',
          SUPERVISOR_CRASH_LOOP_RESTARTS: '2',
          SUPERVISOR_CRASH_LOOP_WINDOW_MS: '120000',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code, `${out.slice(-2000)}\n${err.slice(-2000)}`).toBe(1);
      expect(err).toMatch(/mailroom: pop3 crashed 2 times within 120 s \(last: exit code 1\); stopping the stack/);
      expect(err).toContain('POP3_IDLE_TIMEOUT_S');
      expect(logLines(out).filter((l) => l.service === 'pop3' && l.msg === 'service started')).toHaveLength(2);
      expect(out).not.toContain('Mailroom is up');
      // the other service was stopped with it, and so was PostgreSQL
      const [apiPid] = servicePids(out, 'api');
      expect(apiPid).toBeGreaterThan(0);
      expect(() => process.kill(apiPid!, 0), 'api process gone').toThrow();
      for (const p of [ports.API_PORT, ports.POP3_PORT]) expect(await portIsClosed(p), `port ${p} closed`).toBe(true);
      expect(postgresRunning(dataDir), 'no PostgreSQL left').toBe('');
    },
  );
});
