import type { Response } from '@playwright/test';
import { apiSession, createHostedMailbox, createOwner, expect, expectAccessible, pop3Fetch, screenshot, signIn, test } from './helpers';

test('app passwords and sessions: an owner gives a phone its own POP3 app password, sees it once, revokes it; the main password keeps working', async ({
  page,
}) => {
  const { owner, mailbox, password } = await createHostedMailbox('j7', { localPart: 'erin' });

  await signIn(page, owner.email, owner.password);
  await page.goto(`/mailboxes/${mailbox.id}`);
  const card = page.locator('#app-passwords');
  await expect(card.getByText('No app passwords yet')).toBeVisible();
  await card.getByLabel('Device name').fill('phone');
  await card.getByRole('button', { name: 'Create app password' }).click();
  const shown = card.getByTestId('new-app-password');
  await expect(shown).toHaveText(/^[a-z]{4}(-[a-z]{4}){5}$/);
  const appPassword = (await shown.textContent())!;
  await expect(card.getByText('it is shown only once')).toBeVisible();
  await expect(card.getByRole('list', { name: 'App passwords' })).toContainText('phone');
  await expectAccessible(page, 'the mailbox page with an app password');
  await screenshot(page, 'journey-app-passwords-app-password-created');

  // The phone signs in over POP3 with it; the main password works too.
  expect((await pop3Fetch(mailbox.address, appPassword)).ok).toBe(true);
  expect((await pop3Fetch(mailbox.address, password)).ok).toBe(true);

  // Shown once: after a reload only its name, its public first group and its last use remain.
  await page.reload();
  await expect(card.getByTestId('new-app-password')).toHaveCount(0);
  const row = card.getByRole('listitem').filter({ hasText: 'phone' });
  await expect(row).toContainText(`${appPassword.slice(0, 4)}-…`);
  await expect(row).toContainText('from 127.0.0.1');
  await expect(page.locator('body')).not.toContainText(appPassword.slice(5));

  // The phone is lost: revoke its password. POP3 refuses it; the mailbox password is untouched.
  await row.getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke app password' }).click();
  await expect(card.getByText('No app passwords yet')).toBeVisible();
  expect((await pop3Fetch(mailbox.address, appPassword)).ok).toBe(false);
  expect((await pop3Fetch(mailbox.address, password)).ok).toBe(true);
});

/** The answer to a successful PUT of a mailbox's app-password policy. */
const policySaved = (r: Response) => r.request().method() === 'PUT' && r.url().endsWith('/app-password-policy') && r.ok();

test('app passwords and sessions: a mailbox user requires app passwords for their own POP3, but cannot turn off what the owner requires', async ({
  page,
  browser,
}) => {
  const { owner, mailbox, password } = await createHostedMailbox('j7u', { localPart: 'fred' });

  await signIn(page, mailbox.address, password);
  const connection = page.locator('#connection-settings');
  await expect(connection).toContainText('The mailbox password (normal password authentication)');
  const card = page.locator('#app-passwords');
  const optIn = card.getByLabel('Require app passwords for POP3 on my mailbox');
  await expect(optIn).not.toBeChecked();
  await expect(card).toContainText('Off: your mail programs may also sign in with your mailbox password.');
  await card.getByLabel('Device name').fill('phone');
  await card.getByRole('button', { name: 'Create app password' }).click();
  const appPassword = (await card.getByTestId('new-app-password').textContent())!;

  // Opted in: POP3 refuses the mailbox password and takes the app password.
  await Promise.all([page.waitForResponse(policySaved), optIn.check()]);
  await expect(card).toContainText('On: your mail programs must sign in with app passwords');
  await page.reload();
  await expect(optIn).toBeChecked();
  // the connection settings now send mail programs to an app password
  await expect(connection).toContainText('An app password, one per device');
  await expect(connection).not.toContainText('The mailbox password (normal password authentication)');
  expect(await pop3Fetch(mailbox.address, password)).toMatchObject({
    ok: false,
    error: expect.stringContaining('accepts only app passwords'),
  });
  expect((await pop3Fetch(mailbox.address, appPassword)).ok).toBe(true);
  await expectAccessible(page, "the mailbox user's home with app passwords required");

  // The owner sees the opt-in on the mailbox page and requires app passwords there too.
  const ownerContext = await browser.newContext();
  const ownerPage = await ownerContext.newPage();
  try {
    await signIn(ownerPage, owner.email, owner.password);
    await ownerPage.goto(`/mailboxes/${mailbox.id}`);
    const ownerCard = ownerPage.locator('#app-passwords');
    await expect(ownerCard).toContainText('The mailbox user has required app passwords for their own mailbox');
    await Promise.all([ownerPage.waitForResponse(policySaved), ownerCard.getByLabel('Mailbox password for POP3').selectOption('required')]);
    await ownerPage.reload();
    await expect(ownerCard.getByLabel('Mailbox password for POP3')).toHaveValue('required');
  } finally {
    await ownerContext.close();
  }

  // The mailbox user is told plainly, and cannot withdraw what the owner requires.
  await page.reload();
  await expect(optIn).toBeChecked();
  await expect(optIn).toBeDisabled();
  await expect(card).toContainText(
    'Required by your mailbox’s owner: your mail programs must sign in with app passwords, and you cannot turn this off.',
  );
  await screenshot(page, 'journey-app-passwords-required-by-owner');
  expect((await pop3Fetch(mailbox.address, password)).ok).toBe(false);
});

test('app passwords and sessions: a user sees where they are signed in and signs out every other session', async ({ page }) => {
  const owner = await createOwner();
  // Another browser (an API session) is signed in as the same user.
  const elsewhere = await apiSession(owner.email, owner.password);

  await signIn(page, owner.email, owner.password);
  await page.goto('/account');
  const card = page.locator('#sessions');
  const items = card.getByRole('list', { name: 'Sessions' }).getByRole('listitem');
  await expect(items).toHaveCount(2);
  await expect(card.getByText('This session')).toBeVisible();
  await expect(card).toContainText('Chrome');
  await expectAccessible(page, 'the account page with sessions');
  await screenshot(page, 'journey-app-passwords-sessions');

  await card.getByRole('button', { name: 'Sign out all other sessions' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Sign out other sessions' }).click();
  await expect(card.getByText('1 other session signed out.')).toBeVisible();
  await expect(items).toHaveCount(1);
  expect((await elsewhere.ctx.get('/api/v1/me')).status()).toBe(401);
  await elsewhere.ctx.dispose();
  // This browser is still signed in.
  await page.reload();
  await expect(page.getByRole('heading', { level: 1, name: 'Account' })).toBeVisible();
});
