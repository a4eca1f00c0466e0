import { createHostedMailbox, expect, expectAccessible, pop3Fetch, screenshot, strongPassword, tabTo, test } from './helpers';

test('journey 5: a mailbox user signs in with the keyboard only and changes their password', async ({ page }) => {
  const { mailbox, password } = await createHostedMailbox('j5', { localPart: 'dave', displayName: 'Dave' });

  // Sign in with the full address, keyboard only.
  await page.goto('/login');
  await expectAccessible(page, 'the sign-in page');
  await tabTo(page, page.getByLabel('Email or mailbox address'));
  await page.keyboard.type(mailbox.address);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');

  await expect(page.getByRole('heading', { level: 1, name: mailbox.address })).toBeVisible();
  await expect(page.getByText('Messages waiting', { exact: true })).toBeVisible();
  await expect(page.locator('#connection-settings')).toContainText(mailbox.address);
  await expectAccessible(page, "the mailbox user's home");
  // Focus is visible: the focused element draws an outline.
  await tabTo(page, page.getByRole('link', { name: 'Change password' }));
  const outline = await page.getByRole('link', { name: 'Change password' }).evaluate((el) => getComputedStyle(el).outlineStyle);
  expect(outline).not.toBe('none');
  await page.keyboard.press('Enter');

  await expect(page.getByRole('heading', { level: 1, name: 'Change password' })).toBeVisible();
  const newPassword = strongPassword();
  await tabTo(page, page.getByLabel('Current password'));
  await page.keyboard.type(password);
  await tabTo(page, page.getByLabel('New password', { exact: true }));
  await page.keyboard.type(newPassword);
  await tabTo(page, page.getByLabel('Repeat new password'));
  await page.keyboard.type(newPassword);
  await page.keyboard.press('Enter');
  await expect(page.getByText('Your password has been changed.')).toBeVisible();
  await expectAccessible(page, 'the change-password page');
  await screenshot(page, 'journey-5-password-changed');

  // The new password is the mailbox's password everywhere: the panel and POP3.
  expect((await pop3Fetch(mailbox.address, password)).ok).toBe(false);
  expect((await pop3Fetch(mailbox.address, newPassword)).ok).toBe(true);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel('Email or mailbox address').fill(mailbox.address);
  await page.getByLabel('Password', { exact: true }).fill(newPassword);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: mailbox.address })).toBeVisible();
});
