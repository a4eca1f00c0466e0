import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import { test as base, expect, request, type APIRequestContext, type Locator, type Page } from '@playwright/test';
import nodemailer from 'nodemailer';
import { Secret, TOTP } from 'otpauth';
import type { TestZone } from '@mailroom/core/testing';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../../..');

export function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: the journeys run under e2e/global-setup.ts`);
  return v;
}

/**
 * Every test runs against the stack global-setup started, and fails if the browser reports a Content-Security-Policy
 * violation on any page it opened (a script of ours without the nonce, a blocked style or font). A test that provokes
 * violations on purpose sets `csp.provoked`, and then at least one must have been reported.
 */
export const test = base.extend<{ csp: { provoked: boolean } }>({
  baseURL: async ({}, use) => use(env('MAILROOM_E2E_WEB_URL')),
  csp: [
    async ({ context }, use) => {
      const violations: string[] = [];
      const watch = (p: Page) =>
        p.on('console', (m) => {
          if (/Content Security Policy|Refused to (execute|load|apply|connect|frame)/i.test(m.text()))
            violations.push(`${p.url()}: ${m.text()}`);
        });
      context.pages().forEach(watch);
      context.on('page', watch);
      const csp = { provoked: false };
      await use(csp);
      if (csp.provoked) expect(violations.length, 'the provoked violations were reported').toBeGreaterThan(0);
      else expect(violations, 'Content-Security-Policy violations').toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };

export function uniqueName(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export function strongPassword(): string {
  return `Pw-${randomBytes(12).toString('base64url')}`;
}

/** A signed-in API session (cookie + CSRF token) for arranging data the journey is not about. */
export async function apiSession(
  email: string,
  password: string,
): Promise<{ ctx: APIRequestContext; call: <T>(method: string, p: string, body?: unknown) => Promise<T> }> {
  const ctx = await request.newContext({ baseURL: env('MAILROOM_E2E_WEB_URL') });
  const res = await ctx.post('/api/v1/auth/login', { data: { email, password } });
  expect(res.status(), await res.text()).toBe(200);
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return {
    ctx,
    async call<T>(method: string, p: string, body?: unknown): Promise<T> {
      const r = await ctx.fetch(`/api/v1${p}`, { method, data: body, headers: { 'x-csrf-token': csrfToken } });
      expect(r.ok(), `${method} ${p}: ${r.status()} ${await r.text()}`).toBeTruthy();
      return (r.status() === 204 ? undefined : await r.json()) as T;
    },
  };
}

export function adminSession() {
  return apiSession(env('MAILROOM_E2E_ADMIN_EMAIL'), env('MAILROOM_E2E_ADMIN_PASSWORD'));
}

/**
 * A verified (hosted) domain for an owner, created by the admin with `verified: true`: journeys that are not about
 * ownership verification need mail and logins to work at once (an owner's own domain starts pending).
 */
export async function createVerifiedDomain(ownerId: string, name: string): Promise<{ id: string; name: string }> {
  const admin = await adminSession();
  const domain = await admin.call<{ id: string; name: string }>('POST', '/domains', { name, ownerId, verified: true });
  await admin.ctx.dispose();
  return domain;
}

/** Creates a domain owner through the API as the admin. */
export async function createOwner(limits: { maxMailboxes?: number | null } = {}): Promise<{ id: string; email: string; password: string }> {
  const admin = await adminSession();
  const email = `${uniqueName('owner')}@customers.example`;
  const password = strongPassword();
  const owner = await admin.call<{ id: string }>('POST', '/owners', { email, password, ...limits });
  await admin.ctx.dispose();
  return { id: owner.id, email, password };
}

/**
 * An owner with a verified domain (`<prefix>…example`) and an API session signed in as that owner, for arranging the
 * data a journey is not about. The caller disposes `api.ctx`.
 */
export async function createOwnerWithDomain(prefix: string): Promise<{
  owner: Awaited<ReturnType<typeof createOwner>>;
  api: Awaited<ReturnType<typeof apiSession>>;
  domain: { id: string; name: string };
}> {
  const owner = await createOwner();
  const api = await apiSession(owner.email, owner.password);
  const domain = await createVerifiedDomain(owner.id, `${uniqueName(prefix)}.example`);
  return { owner, api, domain };
}

/** An owner's verified domain with one mailbox on it (a fresh password), arranged through the API. */
export async function createHostedMailbox(
  prefix: string,
  mailbox: { localPart: string; displayName?: string },
): Promise<{
  owner: Awaited<ReturnType<typeof createOwner>>;
  domain: { id: string; name: string };
  mailbox: { id: string; address: string };
  password: string;
}> {
  const { owner, api, domain } = await createOwnerWithDomain(prefix);
  const password = strongPassword();
  const created = await api.call<{ id: string; address: string }>('POST', `/domains/${domain.id}/mailboxes`, { ...mailbox, password });
  await api.ctx.dispose();
  return { owner, domain, mailbox: created, password };
}

/** The sign-in form's password step, sent: what comes next (the panel, a second step, a refusal) is the caller's. */
export async function passwordStep(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email or mailbox address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await passwordStep(page, email, password);
  await expect(page).not.toHaveURL(/\/login/);
}

/** The code an authenticator app would show `offsetSteps` time steps from now. */
export function totp(secret: string, offsetSteps = 0): string {
  return TOTP.generate({
    secret: Secret.fromBase32(secret),
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    timestamp: Date.now() + offsetSteps * 30_000,
  });
}

/** The base32 secret a TOTP enrolment form shows next to the QR code. */
export async function readSecret(page: Page): Promise<string> {
  await expect(page.getByRole('img', { name: 'QR code to scan with your authenticator app' })).toBeVisible();
  const text = await page.getByText(/^[A-Z2-7]{32}$/).textContent();
  return text!.trim();
}

/** Picks `choices` (a select's label → an option's value) in a list's filters form, applies them, waits for the filtered page. */
export async function applyFilters(page: Page, choices: Record<string, string>): Promise<void> {
  for (const [label, value] of Object.entries(choices)) await page.getByLabel(label).selectOption(value);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  for (const value of Object.values(choices)) await expect(page).toHaveURL(new RegExp(`=${value}(&|$)`));
}

/** axe-core scan (WCAG 2 A/AA): no serious or critical violations. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    bad.map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ${v.nodes
          .map((n) => n.target.join(' '))
          .slice(0, 3)
          .join(', ')}`,
    ),
    `accessibility of ${what}`,
  ).toEqual([]);
}

/** Presses Tab until `target` has focus (keyboard-only navigation), failing after `max` presses. */
export async function tabTo(page: Page, target: Locator, max = 40): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) return;
  }
  throw new Error(`could not reach ${target} with the Tab key`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
  await test.info().attach(name, { path: test.info().outputPath(`${name}.png`), contentType: 'image/png' });
}

/** Delivers a raw RFC 5322 message over LMTP to the ingress, as a mail transfer agent would. */
export async function deliverLmtp(to: string, raw: Buffer): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: Number(env('MAILROOM_E2E_LMTP_PORT')),
    lmtp: true,
    secure: false,
    ignoreTLS: true,
    name: 'mta.e2e.test',
  });
  try {
    const info = await transport.sendMail({ envelope: { from: 'sender@elsewhere.example', to: [to] }, raw });
    expect(info.accepted).toEqual([to]);
  } finally {
    transport.close();
  }
}

/**
 * Hands a message from `from` to the ingress's SMTP listener (the MX), as a sending mail server would. Resolves with the
 * final reply's text, a refusal's too (`550 5.1.1 …`).
 */
export async function sendToMx(
  from: string,
  to: string,
  raw = `From: ${from}\r\nTo: ${to}\r\nSubject: hi\r\n\r\nhello\r\n`,
): Promise<string> {
  const smtp = nodemailer.createTransport({
    host: '127.0.0.1',
    port: Number(env('MAILROOM_E2E_SMTP_PORT')),
    secure: false,
    tls: { rejectUnauthorized: false },
    name: 'mx.elsewhere.example',
  });
  try {
    return (await smtp.sendMail({ envelope: { from, to: [to] }, raw })).response;
  } catch (err) {
    return String((err as { response?: string }).response ?? err);
  } finally {
    smtp.close();
  }
}

/** Logs in with Python's poplib (STLS, USER/PASS) and retrieves every message. */
export async function pop3Fetch(
  user: string,
  password: string,
  port = env('MAILROOM_E2E_POP3_PORT'),
  host = '127.0.0.1',
): Promise<{ ok: true; messages: Buffer[] } | { ok: false; error: string }> {
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('python3', [path.join(HERE, 'pop3_fetch.py'), host, String(port), user], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`pop3_fetch.py exited ${code}: ${stderr}`))));
    p.stdin.end(password);
  });
  const r = JSON.parse(out) as { ok: true; messages: string[] } | { ok: false; error: string };
  return r.ok ? { ok: true, messages: r.messages.map((m) => Buffer.from(m, 'base64')) } : r;
}

/**
 * Publishes DNS records in the stack's test zones (`*.example`, `*.test`; e2e/test-dns.ts), replacing what was
 * published before under the same key (use the journey's domain name). Resolves once every test server answers them.
 */
export async function publishDns(key: string, zone: TestZone): Promise<void> {
  const res = await fetch(`${env('MAILROOM_E2E_DNS_CONTROL')}/records/${encodeURIComponent(key)}`, {
    method: 'PUT',
    body: JSON.stringify(zone),
  });
  expect(res.status, await res.text()).toBe(204);
}

/** Runs the operator CLI (`npm run mailroom -- …`) against the stack's database and DNS servers; resolves with its output. */
export async function runMailroomCli(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps/api/src/cli/main.ts'), ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: env('MAILROOM_E2E_DATABASE_URL'),
        MAILROOM_DNS_SERVERS: env('MAILROOM_E2E_DNS_SERVERS'),
        MAILROOM_MX_HOST: env('MAILROOM_E2E_MX_SETTING'),
        MAILROOM_WEB_HOST: env('MAILROOM_E2E_WEB_HOST'),
        MAILROOM_PUBLIC_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    p.stdout.on('data', (d) => (output += d));
    p.stderr.on('data', (d) => (output += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, output }));
  });
}
