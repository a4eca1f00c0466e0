import { env, expect, expectAccessible, screenshot, signIn, strongPassword, test, uniqueName } from './helpers';

test("journey 3: an admin creates an owner limited to one mailbox; the owner's second mailbox is refused with a readable message", async ({
  page,
}) => {
  await signIn(page, env('MAILROOM_E2E_ADMIN_EMAIL'), env('MAILROOM_E2E_ADMIN_PASSWORD'));
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Owners' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Owners' })).toBeVisible();
  await expectAccessible(page, 'the owners list');
  await page.getByRole('link', { name: 'New owner' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'New owner' })).toBeVisible();

  const email = `${uniqueName('limited')}@customers.example`;
  const password = strongPassword();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Mailboxes').fill('1');
  await page.getByLabel('Initial password', { exact: true }).fill(password);
  await expectAccessible(page, 'the new owner form');
  await page.getByRole('button', { name: 'Create owner' }).click();
  await expect(page.getByRole('heading', { level: 1, name: email })).toBeVisible();
  await expect(page.getByText('Owner created.')).toBeVisible();
  await expect(page.getByLabel('Mailboxes')).toHaveValue('1');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);

  await signIn(page, email, password);
  await expect(page.getByText('0 / 1')).toBeVisible();
  await page.getByRole('link', { name: 'Add your first domain' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Add domain' })).toBeVisible();
  const domain = `${uniqueName('j3')}.example`;
  await page.getByLabel('Domain name').fill(domain);
  await page.getByRole('button', { name: 'Add domain' }).click();
  await expect(page.getByRole('heading', { level: 1, name: domain })).toBeVisible();

  await page.getByRole('link', { name: 'Create a mailbox' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'New mailbox' })).toBeVisible();
  await page.getByLabel('Address', { exact: true }).fill('first');
  await page.getByLabel('Password', { exact: true }).fill(strongPassword());
  await page.getByRole('button', { name: 'Create mailbox' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `first@${domain}` })).toBeVisible();

  // The dashboard shows usage against the limit.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Domains' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Your domains' })).toBeVisible();
  await expect(page.getByText('Mailboxes', { exact: true }).locator('..')).toContainText('1 / 1');
  await expect(page.getByText('0 left')).toBeVisible();
  await screenshot(page, 'journey-3-owner-dashboard');
  await page.getByRole('link', { name: domain }).click();
  await expect(page.getByRole('heading', { level: 1, name: domain })).toBeVisible();
  await page.getByRole('link', { name: 'New mailbox' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'New mailbox' })).toBeVisible();
  await page.getByLabel('Address', { exact: true }).fill('second');
  await page.getByLabel('Display name').fill('Second Person');
  const pw = strongPassword();
  await page.getByLabel('Password', { exact: true }).fill(pw);
  await page.getByRole('button', { name: 'Create mailbox' }).click();

  const alert = page.getByRole('main').getByRole('alert');
  await expect(alert).toContainText('at most 1 mailbox');
  await expect(alert).toContainText(/limit/i);
  await expect(alert).not.toContainText(/LIMIT_|error|exception/);
  // Nothing the owner typed is lost.
  await expect(page.getByLabel('Address', { exact: true })).toHaveValue('second');
  await expect(page.getByLabel('Display name')).toHaveValue('Second Person');
  await expect(page.getByLabel('Password', { exact: true })).toHaveValue(pw);
  await expectAccessible(page, 'the refused mailbox form');
  await screenshot(page, 'journey-3-limit-refused');
});
