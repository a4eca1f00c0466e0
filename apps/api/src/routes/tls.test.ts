// Certificates on demand: GET /api/tls/ask answers which names an HTTPS proxy may obtain a certificate for, and a real
// Caddy (Debian's, run with deploy/Caddyfile and its own local CA instead of an ACME server) asks it before issuing one.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '@mailroom/db/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultApiConfig } from '../config.ts';
import { call, createTestAppWithAdmin, createUser, type Credentials, type TestContext, uniqueName } from '../testing.ts';

const CADDY = '/usr/bin/caddy';
const haveCaddy = existsSync(CADDY) && spawnSync(CADDY, ['version'], { stdio: 'ignore' }).status === 0;
const CADDYFILE = fileURLToPath(new URL('../../../../deploy/Caddyfile', import.meta.url));
const WEB_HOST = 'panel.tls-ask.test';

let t: TestContext;
let admin: Credentials;

const ask = (domain: string) => t.app.inject({ method: 'GET', url: `/api/tls/ask?domain=${encodeURIComponent(domain)}` });

/** A domain of a new owner (or `o`'s), made by the admin (verified unless said otherwise). */
async function domain(extra: Record<string, unknown> = {}, owner?: { id: string }) {
  const o = owner ?? (await createUser(t));
  const name = `${uniqueName('c')}.example`;
  const res = await call(t.app, admin, 'POST', '/api/v1/domains', { name, ownerId: o.id, verified: true, ...extra });
  expect(res.statusCode, res.body).toBe(201);
  return { owner: o, id: res.json().id as string, name };
}

beforeAll(async () => {
  ({ t, admin } = await createTestAppWithAdmin({ onboarding: { ...defaultApiConfig().onboarding, webHost: WEB_HOST } }));
});
afterAll(() => t?.close());

describe('GET /api/tls/ask', () => {
  test('allows the panel host and the names a hosted domain points at the panel; mta-sts only with a mode', async () => {
    const d = await domain();
    for (const name of [WEB_HOST, `autoconfig.${d.name}`, `AutoDiscover.${d.name.toUpperCase()}.`]) {
      const res = await ask(name);
      expect(res.statusCode, name).toBe(200);
      expect(res.json()).toEqual({ allowed: true });
      expect(res.headers['cache-control']).toBe('no-store');
    }
    expect((await ask(`mta-sts.${d.name}`)).statusCode).toBe(404);
    expect((await call(t.app, admin, 'PUT', `/api/v1/domains/${d.id}/mta-sts`, { mode: 'testing' })).statusCode).toBe(200);
    expect((await ask(`mta-sts.${d.name}`)).statusCode).toBe(200);

    // an alias domain's names point at the panel too (its DNS guide lists the autoconfig records)
    const alias = await domain({ aliasOf: d.id }, d.owner);
    expect((await ask(`autoconfig.${alias.name}`)).statusCode).toBe(200);
  });

  test('refuses every other name with the same 404: pending, disabled, unknown, other labels, odd spellings', async () => {
    const hosted = await domain();
    const pending = await domain({ verified: false });
    const disabled = await domain();
    expect((await call(t.app, admin, 'PATCH', `/api/v1/domains/${disabled.id}`, { active: false })).statusCode).toBe(200);
    const ownerOff = await domain();
    expect((await call(t.app, admin, 'PATCH', `/api/v1/owners/${ownerOff.owner.id}`, { disabled: true })).statusCode).toBe(200);
    for (const name of [
      `autoconfig.${pending.name}`,
      `autoconfig.${disabled.name}`,
      `autoconfig.${ownerOff.name}`,
      'autoconfig.unknown-domain.example',
      // the domain itself, other labels of it, and deeper names are not the panel's
      hosted.name,
      `www.${hosted.name}`,
      `mail.${hosted.name}`,
      `x.autoconfig.${hosted.name}`,
      `autoconfig.autoconfig.${hosted.name}`,
      `*.${hosted.name}`,
      `autoconfig.${hosted.name}:443`,
      `autoconfig .${hosted.name}`,
      'autoconfig.',
      '127.0.0.1',
      '[::1]',
      '',
      'a'.repeat(300),
    ]) {
      const res = await ask(name);
      expect(res.statusCode, name).toBe(404);
      expect(res.json()).toMatchObject({ code: 'NOT_FOUND' });
    }
    for (const url of ['/api/tls/ask', `/api/tls/ask?domain=${'a'.repeat(301)}`]) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }
  });
});

interface CaddyRun {
  proc: ChildProcess;
  httpsPort: number;
  dir: string;
  output: () => string;
}

/** deploy/Caddyfile with the API as its upstream and ask URL, Caddy's local CA as issuer, ports and state of its own. */
async function startCaddy(apiPort: number): Promise<CaddyRun> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mailroom-caddy-'));
  const [httpPort, httpsPort] = [await findFreePort(), await findFreePort()];
  const globals = ['admin off', 'local_certs', 'skip_install_trust', `http_port ${httpPort}`, `https_port ${httpsPort}`].join('\n');
  const proc = spawn(CADDY, ['run', '--adapter', 'caddyfile', '--config', CADDYFILE], {
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      XDG_DATA_HOME: path.join(dir, 'data'),
      XDG_CONFIG_HOME: path.join(dir, 'config'),
      MAILROOM_TLS_ASK_URL: `http://127.0.0.1:${apiPort}/api/tls/ask`,
      MAILROOM_PANEL_UPSTREAM: `127.0.0.1:${apiPort}`,
      CADDY_EXTRA_GLOBAL_OPTIONS: globals,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 20_000;
  while (!/serving initial configuration|server running/.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`caddy did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, httpsPort, dir, output: () => out };
}

/** A TLS handshake with Caddy for `servername`: the certificate it presented, or the handshake's error. */
function handshake(port: number, servername: string, ca?: Buffer): Promise<{ cert: PeerCertificate } | { error: Error }> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, servername, ...(ca ? { ca } : { rejectUnauthorized: false }) }, () => {
      const cert = s.getPeerCertificate();
      s.end();
      resolve({ cert });
    });
    s.setTimeout(15_000, () => s.destroy(new Error('timeout')));
    s.on('error', (error) => resolve({ error }));
  });
}

function get(port: number, servername: string, urlPath: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, servername, path: urlPath, headers: { host: servername }, ca }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(!haveCaddy)('Caddy with deploy/Caddyfile (on-demand certificates from its local CA)', () => {
  let caddy: CaddyRun | undefined;
  beforeAll(async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address();
    caddy = await startCaddy(typeof address === 'object' && address ? address.port : 0);
  }, 30_000);
  afterAll(async () => {
    caddy?.proc.kill('SIGTERM');
    if (caddy) await rm(caddy.dir, { recursive: true, force: true });
  });

  test('issues a certificate only for names Mailroom allows, and proxies to the panel under it', async () => {
    const d = await domain();
    expect((await call(t.app, admin, 'PUT', `/api/v1/domains/${d.id}/mta-sts`, { mode: 'testing' })).statusCode).toBe(200);
    const port = caddy!.httpsPort;

    const issued = await handshake(port, `mta-sts.${d.name}`);
    expect('cert' in issued, caddy!.output()).toBe(true);
    expect((issued as { cert: PeerCertificate }).cert.subjectaltname).toBe(`DNS:mta-sts.${d.name}`);
    // the certificate chains to Caddy's root, and the policy comes through the proxy under it
    const root = await readFile(path.join(caddy!.dir, 'data/caddy/pki/authorities/local/root.crt'));
    expect('cert' in (await handshake(port, `mta-sts.${d.name}`, root))).toBe(true);
    const policy = await get(port, `mta-sts.${d.name}`, `/api/mta-sts/policy?host=mta-sts.${d.name}`, root);
    expect(policy).toMatchObject({ status: 200 });
    expect(policy.body).toContain('mode: testing\r\n');
    expect('cert' in (await handshake(port, `autoconfig.${d.name}`, root))).toBe(true);

    // no certificate for names Mailroom does not serve: the handshake fails, nothing is issued
    const pending = await domain({ verified: false });
    for (const name of [`autoconfig.${pending.name}`, `autodiscover.attacker-${uniqueName('x')}.example`, `www.${d.name}`]) {
      const refused = await handshake(port, name);
      expect('error' in refused, name).toBe(true);
    }
    expect(caddy!.output()).not.toContain(`certificate obtained successfully","identifier":"www.${d.name}`);
  });
});
