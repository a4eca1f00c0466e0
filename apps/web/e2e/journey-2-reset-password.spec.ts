import { createHostedMailbox, expect, expectAccessible, pop3Fetch, screenshot, signIn, strongPassword, test } from './helpers';

test('journey 2: the owner resets a mailbox password in the browser; POP3 refuses the old one and accepts the new one', async ({
  page,
}) => {
  const { owner, domain, mailbox, password: oldPassword } = await createHostedMailbox('j2', { localPart: 'carol' });
  expect((await pop3Fetch(mailbox.address, oldPassword)).ok).toBe(true);

  await signIn(page, owner.email, owner.password);
  await page.getByRole('link', { name: domain.name }).click();
  await expect(page.getByRole('heading', { level: 1, name: domain.name })).toBeVisible();
  await page.getByRole('table').getByRole('link', { name: mailbox.address }).click();
  await expect(page.getByRole('heading', { level: 1, name: mailbox.address })).toBeVisible();

  const section = page.locator('#reset-password');
  const newPassword = strongPassword();
  await section.getByLabel('New password', { exact: true }).fill(newPassword);
  await section.getByRole('button', { name: 'Set new password' }).click();
  await expect(section.getByText('Password changed.')).toBeVisible();
  await expectAccessible(page, 'the mailbox page after a password reset');
  await screenshot(page, 'journey-2-password-reset');

  const withOld = await pop3Fetch(mailbox.address, oldPassword);
  expect(withOld.ok).toBe(false);
  const withNew = await pop3Fetch(mailbox.address, newPassword);
  expect(withNew.ok, JSON.stringify(withNew)).toBe(true);
});
