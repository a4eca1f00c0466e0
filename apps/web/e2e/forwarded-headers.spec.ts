// Forged client addresses through the panel's origin (issue 10, item 4): the stack global-setup started (server.ts
// serving the last `next build`, the API trusting loopback) is attacked with forwarding headers a visitor chose. Plain
// HTTP requests only, no browser.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '@mailroom/db/testing';
import { expect, request, test } from '@playwright/test';
import { adminSession, createOwner, env } from './helpers';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const FORGED = {
  'x-forwarded-for': '10.66.66.66',
  'x-real-ip': '10.66.66.67',
  forwarded: 'for=10.66.66.68;proto=https',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'evil.example',
};

async function loginThroughPanel(
  email: string,
  password: string,
  headers: Record<string, string> = FORGED,
  baseURL = env('MAILROOM_E2E_WEB_URL'),
) {
  const ctx = await request.newContext({ baseURL });
  const res = await ctx.post('/api/v1/auth/login', { data: { email, password }, headers });
  return { ctx, res };
}

async function auditedLoginAddress(ownerId: string): Promise<string | null> {
  const admin = await adminSession();
  const page = await admin.call<{ items: { action: string; ip: string | null }[] }>(
    'GET',
    `/audit-events?actorId=${ownerId}&action=auth.login`,
  );
  await admin.ctx.dispose();
  expect(page.items).toHaveLength(1);
  return page.items[0]!.ip;
}

function secureCookie(setCookie: string | undefined): boolean {
  expect(setCookie).toMatch(/^mailroom_session=/);
  return /;\s*Secure/i.test(setCookie!);
}

test('a forged X-Forwarded-For sent to the panel never reaches the audit log: the real peer (127.0.0.1) does', async () => {
  const owner = await createOwner();
  const { ctx, res } = await loginThroughPanel(owner.email, owner.password);
  expect(res.status(), await res.text()).toBe(200);
  await ctx.dispose();
  expect(await auditedLoginAddress(owner.id)).toBe('127.0.0.1');
});

test('a visitor claiming X-Forwarded-Proto: https over plain HTTP does not get a Secure cookie; statuses and problems pass through', async () => {
  const owner = await createOwner();
  const { ctx, res } = await loginThroughPanel(owner.email, owner.password);
  expect(res.status()).toBe(200);
  const setCookie = res.headersArray().filter((h) => h.name.toLowerCase() === 'set-cookie');
  expect(setCookie).toHaveLength(1);
  expect(setCookie[0]!.value).toMatch(/^mailroom_session=[^;]+;.*HttpOnly/i);
  expect(setCookie[0]!.value).not.toMatch(/;\s*Secure/i);
  // the cookie works through the proxy
  expect((await ctx.get('/api/v1/me')).status()).toBe(200);
  await ctx.dispose();

  const wrong = await loginThroughPanel(owner.email, 'not the password at all');
  expect(wrong.res.status()).toBe(401);
  expect(wrong.res.headers()['content-type']).toContain('application/problem+json');
  expect((await wrong.res.json()).code).toBe('INVALID_CREDENTIALS');
  await wrong.ctx.dispose();
});

/**
 * A second panel server on the same API, configured as if a TLS proxy on this host fronted it
 * (WEB_TRUSTED_PROXIES=loopback): that proxy's X-Forwarded-For/-Proto are believed and passed on to the API.
 */
test.describe('behind a trusted front proxy (WEB_TRUSTED_PROXIES)', () => {
  let child: ChildProcess | undefined;
  let fronted = '';

  test.beforeAll(async () => {
    const port = await findFreePort();
    child = spawn(process.execPath, ['--import', 'tsx', 'server.ts'], {
      cwd: WEB_DIR,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        MAILROOM_HOST: '127.0.0.1',
        WEB_PORT: String(port),
        API_INTERNAL_URL: env('MAILROOM_E2E_API_URL'),
        WEB_TRUSTED_PROXIES: 'loopback',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stderr!.on('data', (d) => (out += d));
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('"msg":"listening"')) resolve();
      });
      child!.once('exit', (code) => reject(new Error(`server.ts exited (${code}): ${out}`)));
    });
    fronted = `http://127.0.0.1:${port}`;
  });

  test.afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });

  const cases = [
    {
      // the proxy appended the address it saw (198.51.100.44); what the visitor wrote in front of it does not count
      title: "the front proxy's client address and HTTPS scheme reach the API: audit log and Secure cookie",
      headers: { 'x-forwarded-for': '10.66.66.66, 198.51.100.44', 'x-forwarded-proto': 'https' },
      ip: '198.51.100.44',
      secure: true,
    },
    {
      title: 'garbage from the front proxy never becomes the address; plain HTTP there gives no Secure cookie',
      headers: { 'x-forwarded-for': '198.51.100.45, foo', 'x-forwarded-proto': 'http' },
      ip: '127.0.0.1',
      secure: false,
    },
  ];
  for (const c of cases) {
    test(c.title, async () => {
      const owner = await createOwner();
      const { ctx, res } = await loginThroughPanel(owner.email, owner.password, c.headers, fronted);
      expect(res.status(), await res.text()).toBe(200);
      expect(secureCookie(res.headers()['set-cookie'])).toBe(c.secure);
      await ctx.dispose();
      expect(await auditedLoginAddress(owner.id)).toBe(c.ip);
    });
  }
});
