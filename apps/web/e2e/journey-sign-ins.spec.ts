import {
  apiSession,
  applyFilters,
  createOwner,
  createOwnerWithDomain,
  expect,
  expectAccessible,
  pop3Fetch,
  screenshot,
  signIn,
  strongPassword,
  test,
  uniqueName,
} from './helpers';

type SignInPage = { items: { result: string; service: string; attempts: number }[] };

test("journey: a mailbox's sign-in activity shows POP3 and panel sign-ins and refusals to its owner and its user, and to nobody else", async ({
  page,
}) => {
  const { owner, api, domain } = await createOwnerWithDomain('si');
  const password = strongPassword();
  const erin = await api.call<{ id: string; address: string }>('POST', `/domains/${domain.id}/mailboxes`, { localPart: 'erin', password });
  const frank = await api.call<{ id: string; address: string }>('POST', `/domains/${domain.id}/mailboxes`, {
    localPart: 'frank',
    password: strongPassword(),
  });
  const phone = await api.call<{ password: string }>('POST', `/mailboxes/${erin.id}/app-passwords`, { name: 'Phone' });

  // A real POP3 client (poplib, STLS, USER/PASS): a wrong password, the right one, then the phone's app password.
  expect((await pop3Fetch(erin.address, `${password}-wrong`)).ok).toBe(false);
  expect((await pop3Fetch(erin.address, `${password}-wrong-again`)).ok).toBe(false);
  expect((await pop3Fetch(erin.address, password)).ok).toBe(true);
  expect((await pop3Fetch(erin.address, phone.password)).ok).toBe(true);
  // Someone trying an address that does not exist at the domain: refused, and in no mailbox's log.
  expect((await pop3Fetch(`${uniqueName('nobody')}@${domain.name}`, password)).ok).toBe(false);
  // the two wrong passwords from one client share an entry
  expect((await api.call<SignInPage>('GET', `/mailboxes/${erin.id}/sign-ins`)).items.map((s) => [s.result, s.attempts])).toEqual([
    ['ok', 1],
    ['ok', 1],
    ['wrong_password', 2],
  ]);
  expect((await api.call<SignInPage>('GET', `/mailboxes/${frank.id}/sign-ins`)).items).toEqual([]);
  await api.ctx.dispose();

  // The owner reads it on the mailbox's page: newest first, each result in words, how, and from where.
  await signIn(page, owner.email, owner.password);
  await page.goto(`/mailboxes/${erin.id}`);
  const card = page.locator('#sign-ins');
  await expect(card.getByRole('heading', { name: 'Sign-in activity' })).toBeVisible();
  const rows = card.locator('tbody tr');
  await expect(rows).toHaveCount(3);
  await expect(rows.nth(0)).toContainText('Signed in');
  await expect(rows.nth(0)).toContainText('App password “Phone”');
  await expect(rows.nth(1)).toContainText('Signed in');
  await expect(rows.nth(1)).toContainText('POP3 over TLS');
  await expect(rows.nth(1)).toContainText('USER');
  await expect(rows.nth(1)).not.toContainText('App password');
  await expect(rows.nth(2)).toContainText('Wrong password');
  await expect(rows.nth(2)).toContainText('2 times, the last');
  await expect(rows.nth(2)).toContainText('POP3 over TLS');
  await expect(rows.nth(2)).toContainText('127.0.0.1');
  await expect(card).not.toContainText('Panel');

  // The full log, filtered to the failed attempts: only the wrong password.
  await card.getByRole('link', { name: 'All sign-ins' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Sign-in activity of ${erin.address}` })).toBeVisible();
  await applyFilters(page, { Result: 'failed' });
  const logRows = page.locator('main tbody tr');
  await expect(logRows).toHaveCount(1);
  await expect(logRows.first()).toContainText('Wrong password');
  await expectAccessible(page, 'the sign-in log');
  await screenshot(page, 'journey-sign-ins-owner-failed');
  await applyFilters(page, { Service: 'panel' });
  await expect(page.getByText('No sign-ins match these filters')).toBeVisible();
  // A filter the API refuses is said above an empty list (not a not-found page).
  const bogus = await page.goto(`/mailboxes/${erin.id}/sign-ins?result=bogus`);
  expect(bogus?.status()).toBe(200);
  await expect(page.getByRole('main').getByRole('alert')).toContainText('The filters are not valid');
  await expect(page.locator('main tbody tr')).toHaveCount(0);
  await page.getByRole('link', { name: `← ${erin.address}` }).click();
  await expect(page.getByRole('heading', { level: 1, name: erin.address })).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);

  // The mailbox user signs in to the panel with a wrong password, then the right one.
  await page.getByLabel('Email or mailbox address').fill(erin.address);
  await page.getByLabel('Password', { exact: true }).fill(`${password}-wrong`);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByRole('main').getByRole('alert')).toHaveText('That email and password do not match an account.');
  await signIn(page, erin.address, password);
  await expect(page.getByRole('heading', { level: 1, name: erin.address })).toBeVisible();

  // Their home shows their own log, the panel attempts on top.
  const home = page.locator('#sign-ins');
  const homeRows = home.locator('tbody tr');
  await expect(homeRows).toHaveCount(5);
  await expect(homeRows.nth(0)).toContainText('Signed in');
  await expect(homeRows.nth(0)).toContainText('Panel');
  await expect(homeRows.nth(1)).toContainText('Wrong password');
  await expect(homeRows.nth(1)).toContainText('Panel');
  await expect(homeRows.nth(4)).toContainText('Wrong password');
  await expect(homeRows.nth(4)).toContainText('POP3 over TLS');
  await expectAccessible(page, "the mailbox user's home with its sign-in activity");

  await home.getByRole('link', { name: 'All sign-ins' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Sign-in activity of ${erin.address}` })).toBeVisible();
  await applyFilters(page, { Service: 'panel' });
  await expect(page.locator('main tbody tr')).toHaveCount(2);
  await expect(page.locator('main tbody tr').filter({ hasText: 'POP3' })).toHaveCount(0);
  await expectAccessible(page, "the mailbox user's sign-in log");
  await screenshot(page, 'journey-sign-ins-mailbox-user');
  await page.getByRole('link', { name: `← ${erin.address}` }).click();
  await expect(page).toHaveURL(/\/$/);

  // Abuse: the mailbox user asks for their neighbour's log, in the panel and at the API.
  for (const url of [`/mailboxes/${frank.id}/sign-ins`, `/mailboxes/${frank.id}/sign-ins?result=failed`, '/mailboxes/not-an-id/sign-ins']) {
    const res = await page.goto(url);
    expect(res?.status(), url).toBe(404);
    await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
    await expect(page.getByText(frank.address)).toHaveCount(0);
  }
  expect((await page.request.get(`/api/v1/mailboxes/${frank.id}/sign-ins`)).status()).toBe(404);
  expect((await page.request.get(`/api/v1/mailboxes/${erin.id}/sign-ins`)).status()).toBe(200);

  // Another owner gets not found for erin's log.
  const other = await createOwner();
  const otherApi = await apiSession(other.email, other.password);
  expect((await otherApi.ctx.get(`/api/v1/mailboxes/${erin.id}/sign-ins`)).status()).toBe(404);
  await otherApi.ctx.dispose();
});
