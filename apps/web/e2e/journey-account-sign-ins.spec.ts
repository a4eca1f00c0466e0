/**
 * A panel user's own sign-in activity: an owner reads their sign-ins and refusals on the Account page and in the full
 * log, is warned once someone passed their password but not their second factor, and an admin reads the owner's log on
 * the owner's page. Another owner and a mailbox user reach none of it.
 */
import { request, type Browser, type Page } from '@playwright/test';
import {
  apiSession,
  applyFilters,
  createHostedMailbox,
  createOwner,
  env,
  expect,
  expectAccessible,
  passwordStep,
  readSecret,
  screenshot,
  signIn,
  strongPassword,
  test,
  totp,
} from './helpers';

/**
 * The signed-in `page` turns on an authenticator app on its Account page; then someone else, in another browser,
 * passes the account's password but gives a wrong code.
 */
async function passwordKnownCodeNot(page: Page, browser: Browser, login: string, password: string): Promise<void> {
  await page.goto('/account');
  await page.locator('#two-factor').getByRole('button', { name: 'Set up authenticator app' }).click();
  const secret = await readSecret(page);
  await page.getByLabel('Code from the app').fill(totp(secret));
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.locator('#two-factor')).toContainText('Recovery codes left: 10');
  const intruder = await browser.newContext({ baseURL: env('MAILROOM_E2E_WEB_URL') });
  const theirs = await intruder.newPage();
  await passwordStep(theirs, login, password);
  // five steps ahead: outside the one step of drift the API accepts, so surely wrong
  await theirs.getByLabel('Code from your authenticator app').fill(totp(secret, 5));
  await theirs.getByRole('button', { name: 'Verify' }).click();
  await expect(theirs.locator('main').getByRole('alert')).toContainText('wrong, expired or already used');
  await intruder.close();
}

test("journey: an owner's sign-in activity shows their sign-ins and refusals, warns of a known password, and shows to admins", async ({
  page,
  browser,
}) => {
  const owner = await createOwner();
  // Someone's script tries the owner's email with a wrong password.
  const script = await request.newContext({ baseURL: env('MAILROOM_E2E_WEB_URL'), userAgent: 'curl/8.11.1' });
  const refused = await script.post('/api/v1/auth/login', { data: { email: owner.email, password: `${owner.password}-wrong` } });
  expect(refused.status()).toBe(401);
  await script.dispose();

  // The owner signs in with the browser: the Account page lists it above the refusal, with the browser's name.
  await signIn(page, owner.email, owner.password);
  const chrome = /Chrome\/(\d+)/.exec(await page.evaluate(() => navigator.userAgent))![1];
  const device = `Chrome ${chrome} on Windows`; // Playwright's "Desktop Chrome" device
  await page.goto('/account');
  const card = page.locator('#sign-ins');
  await expect(card.getByRole('heading', { name: 'Sign-in activity' })).toBeVisible();
  const rows = card.locator('tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText('Signed in');
  await expect(rows.nth(0)).toContainText('Password');
  await expect(rows.nth(0)).toContainText(device);
  await expect(rows.nth(1)).toContainText('Wrong password');
  await expect(rows.nth(1)).toContainText('curl 8');
  await expect(card.getByRole('alert')).toHaveCount(0);

  // The full log, filtered to the refusals: only the wrong password.
  await card.getByRole('link', { name: 'All sign-ins' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Your sign-in activity' })).toBeVisible();
  await expect(page.getByLabel('Service')).toHaveCount(0);
  await applyFilters(page, { Result: 'failed' });
  const logRows = page.locator('main tbody tr');
  await expect(logRows).toHaveCount(1);
  await expect(logRows.first()).toContainText('Wrong password');
  await expectAccessible(page, 'the own sign-in log');
  await screenshot(page, 'journey-account-sign-ins-failed');

  // The owner turns on an authenticator app; someone else then passes the password but not the code.
  await passwordKnownCodeNot(page, browser, owner.email, owner.password);

  // The owner's Account page warns, and leads to the password form.
  await page.goto('/account');
  const warning = card.getByRole('alert');
  await expect(warning).toContainText('Someone entered your password, but not your second factor');
  await expect(rows.nth(0)).toContainText('Right password, wrong code');
  await expect(rows.nth(0)).toContainText('Authenticator code');
  await expect(rows.nth(0)).toContainText(device);
  await expect(rows.nth(1)).toContainText('Second factor asked');
  await expectAccessible(page, 'the account page warning of a known password');
  await screenshot(page, 'journey-account-sign-ins-warning');
  await warning.getByRole('link', { name: 'change your password' }).click();
  await expect(page).toHaveURL(/\/account#password$/);

  // An admin reads the owner's log on the owner's page, and the full log.
  const adminContext = await browser.newContext({ baseURL: env('MAILROOM_E2E_WEB_URL') });
  const admin = await adminContext.newPage();
  await signIn(admin, env('MAILROOM_E2E_ADMIN_EMAIL'), env('MAILROOM_E2E_ADMIN_PASSWORD'));
  await admin.goto(`/admin/owners/${owner.id}`);
  const ownerCard = admin.locator('#sign-ins');
  await expect(ownerCard.getByRole('alert')).toContainText("Someone entered this owner's password, but not their second factor");
  await expect(ownerCard.locator('tbody tr')).toHaveCount(4);
  await expect(ownerCard.locator('tbody tr').nth(0)).toContainText('Right password, wrong code');
  await expect(ownerCard.locator('tbody tr').nth(3)).toContainText('Wrong password');
  await ownerCard.getByRole('link', { name: 'All sign-ins' }).click();
  await expect(admin.getByRole('heading', { level: 1, name: `Sign-in activity of ${owner.email}` })).toBeVisible();
  await applyFilters(admin, { Result: 'wrong_second_factor' });
  await expect(admin.locator('main tbody tr')).toHaveCount(1);
  await expectAccessible(admin, "an owner's sign-in log for the admin");
  await admin.goto('/');
  const knownToAdmin = admin.locator('section', { has: admin.getByRole('heading', { name: 'Passwords someone else knows' }) });
  await expect(knownToAdmin).toContainText(`${owner.email} (domain owner): wrong authenticator code`);

  // The owner changes the password: the known one no longer works, so the warning ends (for the admin too); the
  // refusal stays in the log, and the profile says when the password changed.
  const newPassword = strongPassword();
  await page.getByLabel('Current password').fill(owner.password);
  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('Repeat new password').fill(newPassword);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('Your password has been changed.')).toBeVisible();
  await page.goto('/account');
  await expect(card.getByRole('alert')).toHaveCount(0);
  await expect(rows.nth(0)).toContainText('Right password, wrong code');
  await expect(page.locator('dl').filter({ hasText: 'Password last changed' })).toContainText(
    /Password last changed\s*\d{4}-\d\d-\d\d \d\d:\d\d UTC/,
  );
  await admin.goto(`/admin/owners/${owner.id}`);
  await expect(ownerCard.locator('tbody tr').nth(0)).toContainText('Right password, wrong code');
  await expect(ownerCard.getByRole('alert')).toHaveCount(0);
  await admin.goto('/');
  await expect(admin.getByText(owner.email)).toHaveCount(0);
  await adminContext.close();
});

test("journey: another owner and a mailbox user reach no owner's sign-in activity; the mailbox's own log warns its user", async ({
  page,
  browser,
}) => {
  const owner = await createOwner();
  const ownerApi = await apiSession(owner.email, owner.password);
  expect((await ownerApi.call<{ items: unknown[] }>('GET', '/auth/sign-ins')).items).toHaveLength(1);
  await ownerApi.ctx.dispose();

  // Another owner sees their own sign-in only, and not found for anything of the first owner's.
  const other = await createOwner();
  await signIn(page, other.email, other.password);
  await page.goto('/account/sign-ins');
  await expect(page.locator('main tbody tr')).toHaveCount(1);
  await expect(page.locator('main tbody tr').first()).toContainText('Signed in');
  for (const url of [`/admin/owners/${owner.id}`, `/admin/owners/${owner.id}/sign-ins`]) {
    const res = await page.goto(url);
    expect(res?.status(), url).toBe(404);
    await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
  }
  expect((await page.request.get(`/api/v1/owners/${owner.id}/sign-ins`)).status()).toBe(403);

  // A mailbox user has no such card nor page (their sign-ins are their mailbox's, on their home) and the API refuses.
  const { owner: danaOwner, mailbox, password } = await createHostedMailbox('asi', { localPart: 'dana' });
  await page.context().clearCookies();
  await signIn(page, mailbox.address, password);
  await page.goto('/account');
  await expect(page.getByRole('heading', { level: 1, name: 'Change password' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Sign-in activity' })).toHaveCount(0);
  const res = await page.goto('/account/sign-ins');
  expect(res?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
  expect((await page.request.get('/api/v1/auth/sign-ins')).status()).toBe(403);

  // The mailbox's own log warns its user too once someone passed the mailbox's password but not its second factor.
  await passwordKnownCodeNot(page, browser, mailbox.address, password);
  await page.goto('/');
  const card = page.locator('#sign-ins');
  await expect(card.getByRole('alert')).toContainText(`Someone entered the password of ${mailbox.address}, but not its second factor`);
  await expect(card.locator('tbody tr').first()).toContainText('Right password, wrong code');
  await expect(card.locator('tbody tr').first()).toContainText('Authenticator code');
  await expectAccessible(page, "the mailbox user's home warning of a known password");

  // The mailbox's owner sees it on the dashboard, among "Passwords someone else knows", with a link to the mailbox;
  // the other owner's dashboard does not list it.
  await page.context().clearCookies();
  await signIn(page, danaOwner.email, danaOwner.password);
  await page.goto('/');
  const known = page.locator('section', { has: page.getByRole('heading', { name: 'Passwords someone else knows' }) });
  await expect(known).toContainText(`${mailbox.address}: wrong authenticator code`);
  await expectAccessible(page, 'the dashboard listing a known password');
  await known.getByRole('link', { name: mailbox.address }).click();
  await expect(page).toHaveURL(new RegExp(`/mailboxes/${mailbox.id}$`));
  await expect(page.locator('#sign-ins').getByRole('alert')).toContainText(`Someone entered the password of ${mailbox.address}`);
  await page.context().clearCookies();
  await signIn(page, other.email, other.password);
  await page.goto('/');
  await expect(page.getByText(mailbox.address)).toHaveCount(0);
});
