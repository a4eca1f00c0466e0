import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, readlink, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MALLOC_TUNABLES, SERVICE_MALLOC_TUNABLES, SHMEM_THP_FILE, shmemThpMode } from '@mailroom/db';
import { freeStackPorts, glibcTunablesOf, hostGivesNoHugePages, type StackPorts } from '@mailroom/db/testing';
import { greeting, portIsClosed, ROOT, startStack, type RunningStack } from './stack.ts';

// The fresh-machine path: no DATABASE_URL, an empty data directory, nothing running.
describe('npm start (scripts/start.ts)', () => {
  let dataDir = '';
  let ports: StackPorts;
  let stack: RunningStack | undefined;
  const adminEmail = 'first-admin@example.com';

  afterAll(async () => {
    await stack?.stop('SIGKILL').catch(() => undefined);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('brings every listener up on an embedded PostgreSQL and creates the first admin with a printed password', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'mr-start-'));
    ports = await freeStackPorts();
    const env = {
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      MAILROOM_DATA_DIR: dataDir,
      DATABASE_URL: '',
      MAILROOM_ADMIN_EMAIL: adminEmail,
      MAILROOM_ADMIN_PASSWORD: '',
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_TIME_COST: '1',
      GLIBC_TUNABLES: undefined, // the operator sets none: Mailroom's own apply
    };
    stack = await startStack(env);
    const out = stack.output();
    expect(out).toContain('with embedded PostgreSQL');
    const pw = /Generated password \(shown once\): (\S+)/.exec(out)?.[1];
    expect(pw, 'generated admin password printed').toBeTruthy();
    expect(out).toContain(`:${ports.POP3_PORT}`);
    // a host with no huge page reserved and no transparent ones for shared memory (as CI's): the operator is told how
    // many PostgreSQL's shared memory would take, or which setting gives it transparent ones
    if (await hostGivesNoHugePages()) {
      expect(out).toMatch(/reserve \d+ huge pages on the host \(sysctl vm\.nr_hugepages=\d+/);
      if ((await shmemThpMode()) !== null) expect(out).toContain(`echo within_size > ${SHMEM_THP_FILE}`);
    }

    const health = await fetch(`http://127.0.0.1:${ports.API_PORT}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${ports.API_PORT}/readyz`);
    expect(ready.status).toBe(200);
    // The API answers through the web origin under /api too.
    const viaWeb = await fetch(`http://127.0.0.1:${ports.WEB_PORT}/api/openapi.json`);
    expect(viaWeb.status).toBe(200);
    expect(((await viaWeb.json()) as { openapi: string }).openapi).toMatch(/^3\./);
    const page = await fetch(`http://127.0.0.1:${ports.WEB_PORT}/login`);
    expect(page.status).toBe(200);

    // The printed password signs the admin in.
    const login = await fetch(`http://127.0.0.1:${ports.API_PORT}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: adminEmail, password: pw }),
    });
    expect(login.status).toBe(200);

    expect(await greeting(ports.POP3_PORT)).toMatch(/^\+OK/);
    expect(await greeting(ports.POP3S_PORT, true)).toMatch(/^\+OK/);
    expect(await greeting(ports.LMTP_PORT)).toMatch(/^220 /);
    expect(await greeting(ports.SMTP_PORT)).toMatch(/^220 /);
    for (const p of [ports.POP3_METRICS_PORT, ports.INGRESS_METRICS_PORT, ports.WORKER_METRICS_PORT]) {
      expect((await fetch(`http://127.0.0.1:${p}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${p}/readyz`)).status, `port ${p} ready`).toBe(200);
      expect(await (await fetch(`http://127.0.0.1:${p}/metrics`)).text()).toMatch(/^# HELP /m);
    }
    // the background worker (scheduled jobs) is up with its own metrics
    expect(await (await fetch(`http://127.0.0.1:${ports.WORKER_METRICS_PORT}/metrics`)).text()).toMatch(
      /^# HELP mailroom_worker_jobs_total /m,
    );
    expect(out).toMatch(/"name":"worker".*"msg":"listening"/);
    expect(existsSync(path.join(dataDir, 'tls', 'cert.pem'))).toBe(true);

    // PostgreSQL and every service run with Mailroom's malloc settings (glibc reads them when a process starts):
    // MALLOC_TUNABLES for the postmaster and the services that verify no passwords, SERVICE_MALLOC_TUNABLES (huge pages
    // too) for the API and POP3 (their package.json's mallocHugePages), found by the data directory in their environment
    const started: { cmd: string; pid: number; cwd: string }[] = [];
    for (const pid of (await readdir('/proc')).filter((d) => /^\d+$/.test(d))) {
      const vars = (await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '')).split('\0');
      const cmd = (await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '')).replaceAll('\0', ' ');
      if (!vars.includes(`MAILROOM_DATA_DIR=${dataDir}`) || !/\/postgres -D | (src\/main|server)\.ts/.test(cmd)) continue;
      started.push({ cmd, pid: Number(pid), cwd: await readlink(`/proc/${pid}/cwd`) });
    }
    expect(started.filter((p) => p.cmd.includes('/postgres -D'))).toHaveLength(1);
    expect(started).toHaveLength(6);
    const root = await realpath(ROOT);
    const services = started.filter((p) => !p.cmd.includes('/postgres -D'));
    expect(services.map((p) => path.relative(root, p.cwd)).sort()).toEqual([
      'apps/api',
      'apps/web',
      'packages/ingress',
      'packages/pop3',
      'packages/worker',
    ]);
    for (const p of started) {
      const hugePages = ['apps/api', 'packages/pop3'].includes(path.relative(root, p.cwd));
      const expected = hugePages ? SERVICE_MALLOC_TUNABLES : MALLOC_TUNABLES;
      expect(await glibcTunablesOf(p.pid), `${p.cmd} in ${p.cwd}`).toBe(expected);
    }
  });

  it('stops every service and PostgreSQL on SIGTERM', async () => {
    expect(stack).toBeDefined();
    const code = await stack!.stop('SIGTERM');
    expect(code).toBe(0);
    for (const p of Object.values(ports)) expect(await portIsClosed(p), `port ${p} closed`).toBe(true);
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
    stack = undefined;
  });

  it('starts again on the same data directory without re-creating the admin', async () => {
    const env = {
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      MAILROOM_DATA_DIR: dataDir,
      DATABASE_URL: '',
      MAILROOM_ADMIN_EMAIL: adminEmail,
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_TIME_COST: '1',
    };
    stack = await startStack(env);
    expect(stack.output()).not.toContain('Generated password');
    expect((await fetch(`http://127.0.0.1:${ports.API_PORT}/healthz`)).status).toBe(200);
    // Ctrl-C: a clean stop (tsx reports the conventional 130 for an interrupt); nothing left listening or running.
    expect([0, 130]).toContain(await stack.stop('SIGINT'));
    stack = undefined;
    for (const p of Object.values(ports)) expect(await portIsClosed(p), `port ${p} closed`).toBe(true);
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  });

  it('refuses a bad setting with a message naming the variable', async () => {
    const { spawnSync } = await import('node:child_process');
    const { ROOT } = await import('./stack.ts');
    const r = spawnSync(path.join(ROOT, 'node_modules/.bin/tsx'), ['scripts/start.ts'], {
      cwd: ROOT,
      env: { ...process.env, POP3_PORT: 'pop', MAILROOM_DATA_DIR: dataDir },
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('POP3_PORT');
  });
});
