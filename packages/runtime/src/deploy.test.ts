import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { baseEnvSchema, pop3AppPasswordsEnvShape, pop3PolicyEnvShape } from './env.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const compose = readFileSync(`${ROOT}docker-compose.yml`, 'utf8');
const hasDockerCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
const deployEnv = {
  ...process.env,
  POSTGRES_PASSWORD: 'p',
  MAILROOM_PUBLIC_HOST: 'mail.example.com',
  MAILROOM_SECRET: 's'.repeat(32),
  MAILROOM_ADMIN_EMAIL: 'admin@example.com',
};

describe('docker-compose.yml', () => {
  it.runIf(hasDockerCompose)('is a valid compose file (docker-compose config -q)', () => {
    expect(() =>
      execFileSync('docker-compose', ['-f', `${ROOT}docker-compose.yml`, 'config', '-q'], { env: deployEnv, stdio: 'pipe' }),
    ).not.toThrow();
  });

  it.runIf(hasDockerCompose)('refuses to render without the required secrets', () => {
    const r = spawnSync('docker-compose', ['-f', `${ROOT}docker-compose.yml`, 'config', '-q'], {
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/POSTGRES_PASSWORD|MAILROOM_/);
  });

  it.runIf(hasDockerCompose)('publishes the standard mail ports and wires every service with a healthcheck', () => {
    const out = execFileSync('docker-compose', ['-f', `${ROOT}docker-compose.yml`, 'config'], { env: deployEnv, encoding: 'utf8' });
    const flat = out.replace(/'|"/g, '');
    for (const port of ['published: 110', 'published: 995', 'published: 25']) expect(flat).toContain(port);
    expect(flat).toContain('127.0.0.1:24:2424'); // LMTP: local MTA only
    for (const svc of ['postgres', 'api', 'web', 'pop3', 'ingress', 'worker']) {
      const block = out.split(/\n {2}(?=\S)/).find((b) => b.startsWith(`${svc}:`));
      expect(block, svc).toBeDefined();
      expect(block, svc).toContain('healthcheck');
    }
    expect(out).toContain('image: postgres:17');
  });

  it.runIf(hasDockerCompose)('runs Caddy in front of the panel only with the https profile, with deploy/Caddyfile', () => {
    const out = execFileSync('docker-compose', ['-f', `${ROOT}docker-compose.yml`, '--profile', 'https', 'config'], {
      env: deployEnv,
      encoding: 'utf8',
    });
    const block = out.split(/\n {2}(?=\S)/).find((b) => b.startsWith('https:'));
    expect(block).toBeDefined();
    expect(block).toMatch(/profiles:\s+- https/);
    expect(block).toContain('/etc/caddy/Caddyfile');
    expect(block).toContain('MAILROOM_TLS_ASK_URL: http://api:3001/api/tls/ask');
    const flat = block!.replace(/'|"/g, '');
    for (const port of ['published: 80', 'published: 443']) expect(flat).toContain(port);
    // the address the panel is told to trust (WEB_TRUSTED_PROXIES) when this profile runs
    expect(block).toContain('172.30.0.12');
  });

  it('only sets variables the services know', () => {
    const known = new Set([
      ...Object.keys(baseEnvSchema.shape),
      ...Object.keys(pop3PolicyEnvShape),
      ...Object.keys(pop3AppPasswordsEnvShape),
      'POP3_METRICS_PORT',
      'INGRESS_METRICS_PORT',
      'WORKER_METRICS_PORT',
      'MAILROOM_ADMIN_EMAIL',
      'MAILROOM_ADMIN_PASSWORD',
      'API_INTERNAL_URL',
    ]);
    const block = compose.slice(compose.indexOf('x-mailroom-env'), compose.indexOf('x-mailroom-service'));
    const names = [...block.matchAll(/^ {2}([A-Z0-9_]+):/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(10);
    for (const n of names) expect(known.has(n), n).toBe(true);
  });
});
