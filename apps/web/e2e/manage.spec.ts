import {
  adminSession,
  createHostedMailbox,
  createOwner,
  createOwnerWithDomain,
  env,
  expect,
  expectAccessible,
  pop3Fetch,
  screenshot,
  signIn,
  strongPassword,
  test,
  uniqueName,
} from './helpers';

test('an owner edits a mailbox (quota, disable) and deletes it after a confirmation naming what is lost', async ({ page }) => {
  const { owner, domain, mailbox, password } = await createHostedMailbox('m', { localPart: 'gina' });

  await signIn(page, owner.email, owner.password);
  await page.goto(`/mailboxes/${mailbox.id}`);
  const details = page.locator('#edit-mailbox');
  await details.getByLabel('Display name').fill('Gina G.');
  await details.getByLabel('Quota').fill('2 GB');
  await details.getByLabel('Enabled').uncheck();
  await details.getByRole('button', { name: 'Save changes' }).click();
  await expect(details.getByText('Changes saved.')).toBeVisible();
  await expect(page.getByRole('heading', { level: 1, name: mailbox.address })).toBeVisible();
  await expect(page.getByText('Gina G.').first()).toBeVisible();
  await expect(page.getByRole('main').getByText('Disabled', { exact: true }).first()).toBeVisible();
  await expect(page.getByText('of 2.0 GB')).toBeVisible();
  expect((await pop3Fetch(mailbox.address, password)).ok).toBe(false);

  // Delete: the dialog names what is lost and needs the local part typed; Escape cancels, focus starts on Cancel.
  await page.getByRole('button', { name: 'Delete mailbox' }).click();
  const dialog = page.getByRole('dialog', { name: `Delete ${mailbox.address}?` });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('0 messages');
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await expectAccessible(page, 'the delete confirmation');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await page.getByRole('button', { name: 'Delete mailbox' }).click();
  const confirm = dialog.getByRole('button', { name: 'Delete mailbox' });
  await expect(confirm).toBeDisabled();
  await dialog.getByLabel('Type gina to confirm').fill('gina');
  await screenshot(page, 'delete-confirmation');
  await confirm.click();
  await expect(page.getByRole('heading', { level: 1, name: domain.name })).toBeVisible();
  await expect(page.getByText('No mailboxes yet')).toBeVisible();
});

test('admin pages: owner detail with limits, domains for an owner, account and keys pass the accessibility scan', async ({ page }) => {
  const owner = await createOwner({ maxMailboxes: 3 });
  const admin = await adminSession();
  const domain = await admin.call<{ id: string; name: string }>('POST', '/domains', {
    name: `${uniqueName('adm')}.example`,
    ownerId: owner.id,
    verified: true,
  });
  await admin.ctx.dispose();

  await signIn(page, env('MAILROOM_E2E_ADMIN_EMAIL'), env('MAILROOM_E2E_ADMIN_PASSWORD'));
  await expect(page.getByRole('heading', { level: 1, name: 'All domains' })).toBeVisible();
  await page.getByRole('searchbox', { name: 'Search domains' }).fill(domain.name);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByText(`Owner: ${owner.email}`)).toBeVisible();
  await expectAccessible(page, 'the admin dashboard');

  await page.goto(`/admin/owners/${owner.id}`);
  await expect(page.getByRole('heading', { level: 1, name: owner.email })).toBeVisible();
  await expect(page.getByRole('link', { name: domain.name })).toBeVisible();
  await page.getByRole('textbox', { name: 'Domains', exact: true }).fill('2');
  await page.getByRole('button', { name: 'Save owner' }).click();
  await expect(page.getByText('Owner saved.')).toBeVisible();
  await expect(page.getByRole('textbox', { name: 'Domains', exact: true })).toHaveValue('2');
  await expectAccessible(page, 'the owner page');

  // Domain limits are the admin's to set.
  await page.getByRole('link', { name: domain.name }).click();
  await expect(page.getByRole('heading', { level: 1, name: domain.name })).toBeVisible();
  const settings = page.locator('#domain-settings');
  await settings.getByLabel('Mailbox limit').fill('4');
  await settings.getByRole('button', { name: 'Save settings' }).click();
  await expect(settings.getByText('Saved.')).toBeVisible();
  await expect(page.getByText('0 of 4 mailboxes')).toBeVisible();

  for (const [url, heading] of [
    ['/domains/new', 'Add domain'],
    ['/account', 'Account'],
    ['/keys', 'API keys'],
  ] as const) {
    await page.goto(url);
    await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
    await expectAccessible(page, url);
  }
  await expect(page.getByRole('heading', { level: 1 })).toHaveCount(1);
});

test('the mailbox table pages through a large domain with cursors and keeps the search', async ({ page }) => {
  const { owner, api, domain } = await createOwnerWithDomain('pages');
  for (let i = 0; i < 28; i++)
    await api.call('POST', `/domains/${domain.id}/mailboxes`, {
      localPart: `user${String(i).padStart(2, '0')}`,
      password: strongPassword(),
    });
  await api.ctx.dispose();

  await signIn(page, owner.email, owner.password);
  await page.goto(`/domains/${domain.id}`);
  const rows = page.getByRole('table', { name: `Mailboxes of ${domain.name}` }).getByRole('link');
  await expect(rows).toHaveCount(25);
  await expect(rows.first()).toHaveText(`user00@${domain.name}`);
  await page.getByRole('navigation', { name: 'Pagination' }).getByRole('link', { name: 'Next page' }).click();
  await expect(rows).toHaveCount(3);
  await expect(rows.first()).toHaveText(`user25@${domain.name}`);
  await expect(page.getByRole('link', { name: 'Next page' })).toHaveCount(0);
  await page.getByRole('link', { name: 'First page' }).click();
  await expect(rows).toHaveCount(25);

  await page.getByRole('searchbox', { name: 'Search mailboxes' }).fill('user2');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(rows).toHaveCount(8);
  await expect(page.getByRole('navigation', { name: 'Pagination' })).toHaveCount(0);
});
