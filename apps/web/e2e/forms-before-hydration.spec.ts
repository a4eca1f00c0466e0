/**
 * Forms submitted before the page has hydrated. The panel's scripts are blocked, so the page stays the server's HTML:
 * what a visitor types while the scripts are still loading must be submitted as typed (the browser posts the form to
 * its server action), and the answer, including the API's refusal, comes back rendered in the form's one alert.
 */
import type { Page } from '@playwright/test';
import { apiSession, createOwner, createVerifiedDomain, expect, pop3Fetch, signIn, strongPassword, test, uniqueName } from './helpers';

/** Keeps the page unhydrated: no script chunk of the panel ever arrives. */
async function blockScripts(page: Page): Promise<void> {
  await page.route('**/_next/static/chunks/**', (route) => route.abort());
}

async function expectUnhydrated(page: Page): Promise<void> {
  // the browser's own form submission is the only way the form can be sent: React never attached its handlers
  expect(await page.evaluate(() => Object.keys(document.querySelector('form') ?? {}).some((k) => k.startsWith('__react')))).toBe(false);
}

test('sign-in typed before hydration signs in, and a refusal shows its message in the form', async ({ page }) => {
  const owner = await createOwner();
  await blockScripts(page);
  await page.goto('/login');
  await expectUnhydrated(page);

  await page.getByLabel('Email or mailbox address').fill(owner.email);
  await page.getByLabel('Password', { exact: true }).fill('not the password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  const alert = page.locator('form').getByRole('alert');
  await expect(alert).toHaveText('That email and password do not match an account.');
  await expect(page.getByLabel('Email or mailbox address')).toHaveValue(owner.email);
  await expectUnhydrated(page);

  await page.getByLabel('Password', { exact: true }).fill(owner.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Your domains' })).toBeVisible();
  // the session is real: the API knows who this browser is
  const me = await page.request.get('/api/v1/me');
  expect(me.status()).toBe(200);
  expect(((await me.json()) as { user: { email: string } }).user.email).toBe(owner.email);
});

test('a mailbox created before hydration is created with exactly what was typed', async ({ page }) => {
  const owner = await createOwner();
  const domain = await createVerifiedDomain(owner.id, `${uniqueName('hyd')}.example`);
  await signIn(page, owner.email, owner.password);
  await blockScripts(page);
  await page.goto(`/domains/${domain.id}/mailboxes/new`);
  await expectUnhydrated(page);

  const password = strongPassword();
  await page.getByLabel('Address', { exact: true }).fill('Early.Bird');
  await page.getByLabel('Display name').fill('Early Bird');
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Create mailbox' }).click();
  const address = `early.bird@${domain.name}`;
  await expect(page.getByRole('heading', { level: 1, name: address })).toBeVisible();

  // server-side: the mailbox exists with the typed display name, and POP3 takes the typed password
  const api = await apiSession(owner.email, owner.password);
  const list = await api.call<{ items: { address: string; displayName: string | null }[] }>(
    'GET',
    `/domains/${domain.id}/mailboxes?q=early`,
  );
  await api.ctx.dispose();
  expect(list.items.map((m) => [m.address, m.displayName])).toEqual([[address, 'Early Bird']]);
  expect((await pop3Fetch(address, password)).ok).toBe(true);

  // the same address again, still without scripts: the API's ALREADY_EXISTS is worded in the form's alert
  await page.goto(`/domains/${domain.id}/mailboxes/new`);
  await page.getByLabel('Address', { exact: true }).fill('early.bird');
  await page.getByLabel('Password', { exact: true }).fill(strongPassword());
  await page.getByRole('button', { name: 'Create mailbox' }).click();
  await expect(page.locator('form').getByRole('alert')).toHaveText('That address is already taken by a mailbox or alias.');
  await expect(page.getByText(`early.bird@${domain.name} already exists.`)).toBeVisible();
  await expect(page.getByLabel('Address', { exact: true })).toHaveValue('early.bird');
});

test('a hydrated form shows the API error code’s message in the same alert and keeps what was typed', async ({ page }) => {
  const owner = await createOwner({ maxMailboxes: 0 });
  const domain = await createVerifiedDomain(owner.id, `${uniqueName('hyd')}.example`);
  await signIn(page, owner.email, owner.password);
  await page.goto(`/domains/${domain.id}/mailboxes/new`);
  await page.getByLabel('Address', { exact: true }).fill('over');
  const password = strongPassword();
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Create mailbox' }).click();
  const alert = page.locator('form').getByRole('alert');
  await expect(alert).toContainText('delete a mailbox you no longer need, or ask your provider to raise the limit');
  await expect(page.getByLabel('Password', { exact: true })).toHaveValue(password);
});

test('abuse: a form whose CSRF field was tampered with is refused by the API, the server action adds no authority', async ({ page }) => {
  const owner = await createOwner();
  const domain = await createVerifiedDomain(owner.id, `${uniqueName('hyd')}.example`);
  await signIn(page, owner.email, owner.password);
  await blockScripts(page);
  for (const forged of ['forged-token', '']) {
    await page.goto(`/domains/${domain.id}/mailboxes/new`);
    await page.locator('input[name="csrfToken"]').evaluate((el, v) => ((el as HTMLInputElement).value = v), forged);
    await page.getByLabel('Address', { exact: true }).fill('forged');
    await page.getByLabel('Password', { exact: true }).fill(strongPassword());
    await page.getByRole('button', { name: 'Create mailbox' }).click();
    await expect(page.locator('form').getByRole('alert')).toHaveText('Your session token is stale. Reload the page and try again.');
  }
  const api = await apiSession(owner.email, owner.password);
  const list = await api.call<{ items: unknown[] }>('GET', `/domains/${domain.id}/mailboxes`);
  await api.ctx.dispose();
  expect(list.items).toEqual([]);
});
