import {
  apiSession,
  createOwnerWithDomain,
  expect,
  expectAccessible,
  screenshot,
  signIn,
  strongPassword,
  test,
  uniqueName,
} from './helpers';

/** Runs `fn` over `items`, `width` at a time. */
async function inBatches<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

test('complete lists: the alias picker finds a mailbox past the first 200, alias and key pages reach the last item', async ({ page }) => {
  test.setTimeout(180_000);
  const { owner, api, domain } = await createOwnerWithDomain('l');
  const locals = Array.from({ length: 210 }, (_, i) => `m${String(i).padStart(3, '0')}`);
  await inBatches([...locals, 'zz-target'], 10, (localPart) =>
    api.call('POST', `/domains/${domain.id}/mailboxes`, { localPart, password: strongPassword() }),
  );
  const m000 = (await api.call<{ items: { id: string }[] }>('GET', `/domains/${domain.id}/mailboxes?limit=1`)).items[0]!;
  await inBatches(
    Array.from({ length: 55 }, (_, i) => `a${String(i).padStart(2, '0')}`),
    10,
    (localPart) => api.call('POST', `/domains/${domain.id}/aliases`, { localPart, destinations: [m000.id] }),
  );
  await inBatches(
    Array.from({ length: 55 }, (_, i) => `key ${String(i).padStart(2, '0')}`),
    10,
    (name) => api.call('POST', '/api-keys', { name, scopes: ['domains:read'] }),
  );
  await api.ctx.dispose();

  await signIn(page, owner.email, owner.password);
  await page.goto(`/domains/${domain.id}`);
  const aliases = page.locator('#aliases');
  // 50 aliases per page; the alias pager leads to the last one
  await expect(aliases.getByText(`a49@${domain.name}`, { exact: true })).toBeVisible();
  await expect(aliases.getByText(`a54@${domain.name}`, { exact: true })).toHaveCount(0);
  await aliases.getByRole('navigation', { name: 'Alias pages' }).getByRole('link', { name: 'Next page' }).click();
  await expect(aliases.getByText(`a54@${domain.name}`, { exact: true })).toBeVisible();
  await expect(aliases.getByRole('navigation', { name: 'Alias pages' }).getByRole('link', { name: 'Next page' })).toHaveCount(0);

  // The destination picker: zz-target sorts after 210 others, beyond any first page; typing finds it.
  await aliases.getByLabel('Alias address').fill('support');
  const picker = aliases.getByRole('group', { name: 'Deliver to' }).last();
  await expect(picker.getByRole('checkbox', { name: `m000@${domain.name}` })).toBeVisible();
  await expect(picker.getByRole('checkbox', { name: `zz-target@${domain.name}` })).toHaveCount(0);
  await picker.getByRole('searchbox').fill('zz-tar');
  await picker.getByRole('checkbox', { name: `zz-target@${domain.name}` }).check();
  await aliases.getByRole('button', { name: 'Add alias' }).click();
  await expect(aliases.getByText(`→ zz-target@${domain.name}`)).toBeVisible();
  await expectAccessible(page, 'the alias picker');
  await screenshot(page, 'alias-picker-search');

  // Keys: 50 per page, the pager reaches the 55th.
  await page.goto('/keys');
  const keys = page.locator('#keys');
  await expect(keys.getByText(/^key 00\b/)).toBeVisible();
  await expect(keys.getByText(/^key 54\b/)).toHaveCount(0);
  await keys.getByRole('link', { name: 'Next page' }).click();
  await expect(keys.getByText(/^key 54\b/)).toBeVisible();
  await expect(keys.getByRole('link', { name: 'Next page' })).toHaveCount(0);
});

test('POP3 policy on the domain and mailbox pages; the admin picks an owner by search', async ({ page }) => {
  const { owner, api, domain } = await createOwnerWithDomain('p');
  const mb = await api.call<{ id: string }>('POST', `/domains/${domain.id}/mailboxes`, { localPart: 'phone', password: strongPassword() });

  await signIn(page, owner.email, owner.password);
  await page.goto(`/domains/${domain.id}`);
  const domainPolicy = page.locator('#domain-pop3');
  await domainPolicy.getByLabel('Minimum time between logins (seconds)').fill('300');
  await domainPolicy.getByRole('radio', { name: /older than a number of days/ }).check();
  await domainPolicy.getByLabel('Days to keep messages').fill('14');
  await domainPolicy.getByRole('button', { name: 'Save POP3 policy' }).click();
  await expect(domainPolicy.getByText('POP3 policy saved.')).toBeVisible();
  expect(await api.call('GET', `/domains/${domain.id}`)).toMatchObject({ loginDelaySeconds: 300, retentionDays: 14 });

  // Greylisting: the server's default until the owner decides; off, then back to the default
  const greylisting = page.locator('#greylisting');
  await expect(greylisting.getByRole('radio', { name: /server’s default/ })).toBeChecked();
  await greylisting.getByRole('radio', { name: /^Off:/ }).check();
  await greylisting.getByRole('button', { name: 'Save greylisting' }).click();
  await expect(greylisting.getByText('Saved.')).toBeVisible();
  expect(await api.call('GET', `/domains/${domain.id}`)).toMatchObject({ greylisting: false });
  await page.reload();
  await expect(page.locator('#greylisting').getByRole('radio', { name: /^Off:/ })).toBeChecked();
  await expectAccessible(page, 'the greylisting setting');
  await page
    .locator('#greylisting')
    .getByRole('radio', { name: /server’s default/ })
    .check();
  await page.locator('#greylisting').getByRole('button', { name: 'Save greylisting' }).click();
  await expect(page.locator('#greylisting').getByText('Saved.')).toBeVisible();
  expect(await api.call('GET', `/domains/${domain.id}`)).toMatchObject({ greylisting: null });

  await page.goto(`/mailboxes/${mb.id}`);
  const policy = page.locator('#mailbox-pop3');
  // a bad value is refused in the form, nothing is sent
  await policy.getByLabel('Minimum time between logins (seconds)').fill('-5');
  await expect(policy.getByText(/Whole seconds from 0 to 86400/)).toBeVisible();
  await policy.getByLabel('Minimum time between logins (seconds)').fill('0');
  await policy.getByRole('radio', { name: /once a mail client has downloaded it/ }).check();
  await policy.getByRole('button', { name: 'Save POP3 policy' }).click();
  await expect(policy.getByText('POP3 policy saved.')).toBeVisible();
  expect(await api.call('GET', `/mailboxes/${mb.id}`)).toMatchObject({ loginDelaySeconds: 0, retentionDays: 0 });
  await expectAccessible(page, 'the POP3 policy form');
  await screenshot(page, 'mailbox-pop3-policy');
  await api.ctx.dispose();

  // The admin hosts a domain for this owner, found by typing part of the email.
  await page.context().clearCookies();
  await signIn(page, process.env.MAILROOM_E2E_ADMIN_EMAIL!, process.env.MAILROOM_E2E_ADMIN_PASSWORD!);
  await page.goto('/domains/new');
  const name = `${uniqueName('o')}.example`;
  await page.getByLabel('Domain name').fill(name);
  const ownerPicker = page.getByRole('group', { name: /^Owner/ });
  await ownerPicker.getByRole('searchbox').fill(owner.email.slice(0, 18));
  await ownerPicker.getByRole('radio', { name: owner.email }).check();
  await page.getByRole('button', { name: /Add domain/ }).click();
  await expect(page).toHaveURL(/\/domains\/[0-9a-f-]{36}/);
  const check = await apiSession(owner.email, owner.password);
  const mine = await check.call<{ items: { name: string }[] }>('GET', `/domains?q=${encodeURIComponent(name)}`);
  expect(mine.items.map((d) => d.name)).toEqual([name]);
  await check.ctx.dispose();
});
