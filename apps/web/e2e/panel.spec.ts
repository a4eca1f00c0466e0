import {
  createHostedMailbox,
  createOwner,
  createOwnerWithDomain,
  expect,
  expectAccessible,
  screenshot,
  signIn,
  strongPassword,
  test,
} from './helpers';

test('aliases, catch-all and API keys: an owner manages them in the browser; the key secret is shown once and works', async ({
  page,
  context,
  request,
}) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const { owner, api, domain } = await createOwnerWithDomain('p');
  for (const localPart of ['erin', 'frank'])
    await api.call('POST', `/domains/${domain.id}/mailboxes`, { localPart, password: strongPassword() });
  await api.ctx.dispose();

  await signIn(page, owner.email, owner.password);
  await page.goto(`/domains/${domain.id}`);
  const aliases = page.locator('#aliases');
  await expect(aliases.getByText('No aliases yet')).toBeVisible();

  // An alias to two mailboxes.
  await aliases.getByLabel('Alias address').fill('sales');
  await aliases.getByRole('checkbox', { name: `erin@${domain.name}` }).check();
  await aliases.getByRole('checkbox', { name: `frank@${domain.name}` }).check();
  await aliases.getByRole('button', { name: 'Add alias' }).click();
  await expect(aliases.getByText(`sales@${domain.name}`, { exact: true })).toBeVisible();
  await expect(aliases.getByText(`→ erin@${domain.name}, frank@${domain.name}`)).toBeVisible();

  // The catch-all.
  await aliases.getByRole('checkbox', { name: /^Catch-all/ }).check();
  await aliases
    .getByRole('group', { name: 'Deliver to' })
    .last()
    .getByRole('checkbox', { name: `erin@${domain.name}` })
    .check();
  await aliases.getByRole('button', { name: 'Add catch-all' }).click();
  await expect(aliases.getByText(`Catch-all (*@${domain.name})`, { exact: true })).toBeVisible();
  await expect(aliases.getByRole('checkbox', { name: /^Catch-all/ })).toBeDisabled();
  await expectAccessible(page, 'the alias editor');

  // Search and the mailbox table.
  await page.getByRole('searchbox', { name: 'Search mailboxes' }).fill('fra');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/q=fra/);
  const table = page.getByRole('table', { name: `Mailboxes of ${domain.name}` });
  await expect(table.getByRole('link')).toHaveText([`frank@${domain.name}`]);
  await screenshot(page, 'aliases-and-search');

  // API key: created with scopes and a domain restriction, secret shown once, usable, then revoked.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
  await expect(page.getByText('No API keys yet')).toBeVisible();
  await page.getByLabel('Name').fill('billing sync');
  await page.getByRole('checkbox', { name: domain.name }).check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const secret = (await page.getByTestId('new-api-key').textContent())!.trim();
  expect(secret).toMatch(/^mr_/);
  await expectAccessible(page, 'the API keys page');
  await screenshot(page, 'api-key-created');
  const res = await request.get(`/api/v1/domains/${domain.id}/mailboxes`, { headers: { authorization: `Bearer ${secret}` } });
  expect(res.status()).toBe(200);
  await page.reload();
  await expect(page.getByTestId('new-api-key')).toHaveCount(0);
  await expect(page.getByText(secret)).toHaveCount(0);
  await page.getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
  await expect(page.getByText('Revoked')).toBeVisible();
  const after = await request.get(`/api/v1/domains/${domain.id}/mailboxes`, { headers: { authorization: `Bearer ${secret}` } });
  expect(after.status()).toBe(401);

  // The owner's own activity trail records all of it.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Activity' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Activity' })).toBeVisible();
  const events = page.getByRole('table', { name: /Audit events/ });
  for (const action of ['api-key.revoke', 'api-key.create', 'alias.create', 'auth.login'])
    await expect(events.getByRole('link', { name: action, exact: true }).first()).toBeVisible();
  await page.getByLabel('From (UTC day)').fill('2030-01-05');
  await page.getByLabel('To (UTC day, inclusive)').fill('2030-01-01');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page.getByRole('main').getByRole('alert')).toContainText('The filters are not valid');
});

test('phone width: the domain page and the mailbox page fit a 375 px screen without sideways scrolling', async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 812 });
  const { owner, domain, mailbox } = await createHostedMailbox('phone', { localPart: 'a.rather.long.local.part', displayName: 'Someone' });
  await signIn(page, owner.email, owner.password);
  for (const url of ['/', `/domains/${domain.id}`, `/mailboxes/${mailbox.id}`, `/domains/${domain.id}/mailboxes/new`]) {
    await page.goto(url);
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
    const wide = await page.evaluate(() => {
      const limit = document.documentElement.clientWidth;
      return [...document.body.querySelectorAll('*')]
        .filter((el) => el.getBoundingClientRect().right > limit + 1 && el.checkVisibility())
        .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${[...el.classList].slice(0, 4).join('.')}`);
    });
    expect(wide, `elements wider than the screen on ${url}`).toEqual([]);
  }
  await expectAccessible(page, 'the new mailbox form at phone width');
  await page.goto(`/domains/${domain.id}`);
  await screenshot(page, 'phone-domain-page');
});

test('admin: audit log lists changes and filters them by action', async ({ page }) => {
  const owner = await createOwner({ maxMailboxes: 5 });
  await signIn(page, process.env.MAILROOM_E2E_ADMIN_EMAIL!, process.env.MAILROOM_E2E_ADMIN_PASSWORD!);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Audit log' })).toBeVisible();
  const events = page.getByRole('table', { name: /Audit events/ });
  await expect(events).toBeVisible();
  await page.getByLabel('Target id').fill(owner.id);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(new RegExp(`targetId=${owner.id}`));
  await expect(events.getByRole('row')).not.toHaveCount(1);
  await expect(events).toContainText(owner.id);
  await expectAccessible(page, 'the audit log');
  await screenshot(page, 'audit-log');
  await page.getByLabel('Action').fill('no.such.action');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page.getByText('No events match these filters')).toBeVisible();
});

test('sign-in: a wrong password gets a plain message, and what was typed stays', async ({ page }) => {
  const owner = await createOwner();
  await page.goto('/login');
  await page.getByLabel('Email or mailbox address').fill(owner.email);
  await page.getByLabel('Password', { exact: true }).fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByRole('main').getByRole('alert')).toHaveText('That email and password do not match an account.');
  await expect(page.getByLabel('Email or mailbox address')).toHaveValue(owner.email);
  await expectAccessible(page, 'the sign-in page with an error');
  // Signed-out visitors are sent to sign in.
  await page.goto('/keys');
  await expect(page).toHaveURL(/\/login$/);
});

test("the API and its documentation are served on the panel's origin", async ({ request }) => {
  const doc = await request.get('/api/openapi.json');
  expect(doc.status()).toBe(200);
  expect(((await doc.json()) as { openapi: string }).openapi).toMatch(/^3\./);
  const me = await request.get('/api/v1/me');
  expect(me.status()).toBe(401);
  expect(me.headers()['content-type']).toContain('application/problem+json');
});

test('pages carry a Content-Security-Policy with a fresh nonce on their scripts; an injected inline script does not run', async ({
  page,
  request,
  csp,
}) => {
  const policies = await Promise.all(
    [request.get('/login'), request.get('/login')].map(async (r) => (await r).headers()['content-security-policy'] ?? ''),
  );
  const nonces = policies.map((p) => /'nonce-([^']+)'/.exec(p)?.[1]);
  expect(nonces[0]).toBeTruthy();
  expect(nonces[1]).not.toBe(nonces[0]);
  for (const directive of ["frame-ancestors 'none'", "object-src 'none'", "base-uri 'self'", "form-action 'self'", "'strict-dynamic'"])
    expect(policies[0]).toContain(directive);
  expect(policies[0]).not.toMatch(/script-src[^;]*'unsafe-(inline|eval)'/);

  const response = await page.goto('/login');
  const nonce = /'nonce-([^']+)'/.exec(response!.headers()['content-security-policy'] ?? '')?.[1];
  const scripts = await page.locator('script').evaluateAll((els) => els.map((e) => (e as HTMLScriptElement).nonce));
  expect(scripts.length).toBeGreaterThan(0);
  expect(scripts.every((n) => n === nonce)).toBe(true);
  // The page works (hydrated: typing enables the button) and injected markup cannot run script.
  await page.getByLabel('Email or mailbox address').fill('someone@example.com');
  await page.getByLabel('Password').fill('anything');
  await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeEnabled();
  // What a stored-XSS bug would put into a page: markup in the server's HTML. The policy keeps it inert.
  csp.provoked = true;
  await page.route('**/login', async (route) => {
    const original = await route.fetch();
    const html = (await original.text()).replace(
      '<body',
      '<body data-x="1"><script>window.__injected = 1</script><img src="/x.png" onerror="window.__injected = 2"',
    );
    await route.fulfill({ response: original, body: html });
  });
  await page.goto('/login');
  await page.waitForLoadState('load');
  expect(await page.evaluate(() => (window as unknown as { __injected?: number }).__injected ?? 0)).toBe(0);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
});
