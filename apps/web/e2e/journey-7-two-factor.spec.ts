/**
 * Journey 7: two-factor sign-in. An owner turns on an authenticator app from the Account page (QR code, secret, first
 * code, recovery codes shown once and downloadable), then signs in with a code the test computes (RFC 6238) and with a
 * recovery code; an admin resets the owner's second factors. Under MAILROOM_REQUIRE_2FA=all (an API and panel started
 * by this file with that setting, on the journeys' database) the password step leads to enrolment before the panel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '@mailroom/db/testing';
import { createOwner, env, expect, expectAccessible, passwordStep, readSecret, screenshot, signIn, test, totp } from './helpers';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

test('an owner turns on TOTP, signs in with a code and with a recovery code; an admin resets it', async ({ page, browser }) => {
  const owner = await createOwner();
  await signIn(page, owner.email, owner.password);

  await page.goto('/account');
  const section = page.locator('#two-factor');
  await section.getByRole('button', { name: 'Set up authenticator app' }).click();
  const secret = await readSecret(page);
  await expectAccessible(page, 'the TOTP enrolment');
  await screenshot(page, 'account-totp-enrolment');
  await page.getByLabel('Code from the app').fill('000000');
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  await expect(section.getByRole('alert')).toContainText(/wrong|incorrect/i);
  await page.getByLabel('Code from the app').fill(totp(secret));
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  const codeItems = page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
  await expect(codeItems).toHaveCount(10);
  const codes = (await codeItems.allTextContents()).map((c) => c.trim());
  await screenshot(page, 'account-recovery-codes');
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download codes' }).click();
  expect((await download).suggestedFilename()).toBe('mailroom-recovery-codes.txt');
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(section).toContainText('Recovery codes left: 10');

  // Sign in again: the password alone no longer opens the panel.
  await page.context().clearCookies();
  await passwordStep(page, owner.email, owner.password);
  const codeField = page.getByLabel('Code from your authenticator app');
  await expect(codeField).toBeVisible();
  await expectAccessible(page, 'the second sign-in step');
  await screenshot(page, 'login-second-step');
  await codeField.fill('123456');
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.locator('main').getByRole('alert')).toContainText('wrong, expired or already used');
  await expect(page).toHaveURL(/\/login/);
  // The next step's code (one step of drift is accepted; the enrolment used the current one).
  await codeField.fill(totp(secret, 1));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).not.toHaveURL(/\/login/);

  // A recovery code works once.
  await page.context().clearCookies();
  await passwordStep(page, owner.email, owner.password);
  await page.getByRole('button', { name: 'Use a recovery code' }).click();
  await page.getByLabel('Recovery code').fill(codes[0]!);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).not.toHaveURL(/\/login/);
  await page.goto('/account');
  await expect(page.locator('#two-factor')).toContainText('Recovery codes left: 9');

  // The admin resets the owner's second factors: the owner's session ends, the password alone signs in again.
  const adminContext = await browser.newContext({ baseURL: env('MAILROOM_E2E_WEB_URL') });
  const admin = await adminContext.newPage();
  await signIn(admin, env('MAILROOM_E2E_ADMIN_EMAIL'), env('MAILROOM_E2E_ADMIN_PASSWORD'));
  await admin.goto(`/admin/owners/${owner.id}`);
  await admin.getByRole('button', { name: 'Reset second factors' }).click();
  await admin.getByRole('button', { name: 'Reset and sign out' }).click();
  await expect(admin.getByText(/Removed 1 second factor\(s\)/)).toBeVisible();
  await adminContext.close();
  await page.goto('/account');
  await expect(page).toHaveURL(/\/login/);
  await signIn(page, owner.email, owner.password);
});

test.describe('MAILROOM_REQUIRE_2FA=all', () => {
  let api: ChildProcess | undefined;
  let web: ChildProcess | undefined;
  let dataDir: string | undefined;
  let webUrl = '';
  let output = '';

  async function waitFor(url: string, child: () => ChildProcess | undefined): Promise<void> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child()?.exitCode != null) throw new Error(`a service exited during start-up:\n${output.slice(-3000)}`);
      const ok = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(3_000) }).then(
        (r) => r.status < 500,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${url}:\n${output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  function start(entry: string, extra: Record<string, string>): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: ROOT,
      env: {
        ...process.env,
        MAILROOM_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        NEXT_TELEMETRY_DISABLED: '1',
        ...extra,
        NODE_ENV: 'production',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    return child;
  }

  test.beforeAll(async () => {
    test.setTimeout(150_000);
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-e2e-2fa-'));
    const apiPort = await findFreePort();
    const webPort = await findFreePort();
    api = start('apps/api/src/main.ts', {
      API_PORT: String(apiPort),
      DATABASE_URL: env('MAILROOM_E2E_DATABASE_URL'),
      MAILROOM_DATA_DIR: dataDir,
      MAILROOM_SECRET: randomBytes(32).toString('base64url'),
      MAILROOM_REQUIRE_2FA: 'all',
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_TIME_COST: '1',
    });
    web = start('apps/web/server.ts', { WEB_PORT: String(webPort), API_INTERNAL_URL: `http://127.0.0.1:${apiPort}` });
    webUrl = `http://127.0.0.1:${webPort}`;
    await waitFor(`http://127.0.0.1:${apiPort}/healthz`, () => api);
    await waitFor(`${webUrl}/login`, () => web);
  });

  test.afterAll(async () => {
    for (const child of [web, api]) {
      if (child && child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('an owner without a factor is taken to enrolment after the password, then signs in with codes', async ({ browser }) => {
    const owner = await createOwner();
    const context = await browser.newContext({ baseURL: webUrl });
    const page = await context.newPage();
    await passwordStep(page, owner.email, owner.password);
    await expect(page).toHaveURL(/\/login\/enrol/);
    await expect(page.getByRole('heading', { name: 'Set up two-factor authentication' })).toBeVisible();
    // Nothing else opens before enrolment: the panel still sends the browser to sign-in.
    const probe = await context.newPage();
    await probe.goto('/account');
    await expect(probe).toHaveURL(/\/login/);
    await probe.close();
    const secret = await readSecret(page);
    await expectAccessible(page, 'the enrolment page');
    await screenshot(page, 'login-enrolment');
    await page.getByLabel('Code from the app').fill(totp(secret));
    await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    await expect(page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem')).toHaveCount(10);
    await page.getByRole('button', { name: 'I saved my codes, continue' }).click();
    await expect(page).not.toHaveURL(/\/login/);
    await page.goto('/account');
    await expect(page.locator('#two-factor')).toContainText('On');

    await context.clearCookies();
    await passwordStep(page, owner.email, owner.password);
    await page.getByLabel('Code from your authenticator app').fill(totp(secret, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await expect(page).not.toHaveURL(/\/login/);
    await context.close();
  });
});
