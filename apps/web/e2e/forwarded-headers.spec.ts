// Forged client addresses through the panel's origin (issue 10, item 4): the stack global-setup started (server.ts in
// front of `next start`'s build, the API trusting loopback) is attacked with forwarding headers a visitor chose. Plain
// HTTP requests only, no browser.
import { expect, request, test } from '@playwright/test';
import { adminSession, createOwner, env } from './helpers';

const FORGED = {
  'x-forwarded-for': '10.66.66.66',
  'x-real-ip': '10.66.66.67',
  forwarded: 'for=10.66.66.68;proto=https',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'evil.example',
};

async function loginThroughPanel(email: string, password: string) {
  const ctx = await request.newContext({ baseURL: env('MAILROOM_E2E_WEB_URL') });
  const res = await ctx.post('/api/v1/auth/login', { data: { email, password }, headers: FORGED });
  return { ctx, res };
}

test('a forged X-Forwarded-For sent to the panel never reaches the audit log: the real peer (127.0.0.1) does', async () => {
  const owner = await createOwner();
  const { ctx, res } = await loginThroughPanel(owner.email, owner.password);
  expect(res.status(), await res.text()).toBe(200);
  await ctx.dispose();

  const admin = await adminSession();
  const page = await admin.call<{ items: { action: string; ip: string | null }[] }>('GET', `/audit-events?actorId=${owner.id}&action=auth.login`);
  await admin.ctx.dispose();
  expect(page.items).toHaveLength(1);
  expect(page.items[0]!.ip).toBe('127.0.0.1');
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
