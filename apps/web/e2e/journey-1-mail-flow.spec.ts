import {
  createOwner,
  deliverLmtp,
  env,
  expect,
  expectAccessible,
  pop3Fetch,
  publishDns,
  screenshot,
  signIn,
  strongPassword,
  test,
  uniqueName,
} from './helpers';

test('journey 1: an owner adds a domain and a mailbox in the browser; delivered mail reaches a real POP3 client byte-exact', async ({
  page,
  context,
}) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const owner = await createOwner();
  await signIn(page, owner.email, owner.password);

  await expect(page.getByRole('heading', { level: 1, name: 'Your domains' })).toBeVisible();
  await expect(page.getByText('No domains yet')).toBeVisible();
  await expectAccessible(page, 'the empty owner dashboard');

  // Add a domain.
  await page.getByRole('link', { name: 'Add your first domain' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Add domain' })).toBeVisible();
  const domain = `${uniqueName('j1')}.example`;
  await page.getByLabel('Domain name').fill(`${domain}.`);
  await page.getByLabel('Domain name').blur();
  await expect(page.getByText('no trailing dot')).toBeVisible();
  await page.getByLabel('Domain name').fill(domain.toUpperCase());
  await page.getByRole('button', { name: 'Add domain' }).click();
  await expect(page.getByRole('heading', { level: 1, name: domain })).toBeVisible();
  await expect(page.getByText('No mailboxes yet')).toBeVisible();
  await expectAccessible(page, 'the domain page');

  // The new domain is pending: the owner publishes the TXT record it shows (here: on the stack's test DNS server,
  // with the MX pointing here) and verifies it in the panel; until then nothing for it would be accepted.
  const verification = page.locator('#verification');
  await verification.getByRole('button', { name: 'Copy record value', exact: true }).click();
  const token = await page.evaluate(() => navigator.clipboard.readText());
  expect(token).toMatch(/^mailroom-verify=/);
  await publishDns(domain, { txt: [[`_mailroom.${domain}`, token]], mx: [[domain, env('MAILROOM_E2E_MX_HOST'), 10]] });
  await verification.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByText(`Domain verified: ${domain} is now active.`)).toBeVisible();

  // Create a mailbox: live local-part validation, strength feedback, generator, then the password the owner types.
  await page.getByRole('link', { name: 'Create a mailbox' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'New mailbox' })).toBeVisible();
  const address = page.getByLabel('Address', { exact: true });
  await address.fill('alice..smith');
  await expect(page.getByText('Cannot contain two dots in a row.')).toBeVisible();
  await address.fill('Alice.Smith');
  await expect(page.getByText(`alice.smith@${domain}`)).toBeVisible();
  await page.getByLabel('Display name').fill('Alice Smith');
  const passwordInput = page.getByLabel('Password', { exact: true });
  await passwordInput.fill('short');
  await expect(page.getByText('Too short')).toBeVisible();
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(passwordInput).toHaveValue(/^[A-Za-z0-9-]{23}$/);
  await expect(page.getByText('Strength: Strong')).toBeVisible();
  const typed = strongPassword();
  await passwordInput.fill(typed);
  await expectAccessible(page, 'the new mailbox form');
  await page.getByRole('button', { name: 'Create mailbox' }).click();

  // The connection settings card, with copy buttons.
  const mailboxAddress = `alice.smith@${domain}`;
  await expect(page.getByRole('heading', { level: 1, name: mailboxAddress })).toBeVisible();
  await expect(page.getByText('Mailbox created.')).toBeVisible();
  const card = page.locator('#connection-settings');
  await expect(card.getByRole('heading', { name: 'Connection settings' })).toBeVisible();
  const copied: Record<string, string> = {};
  for (const label of ['Server', 'Username', 'POP3 port (STARTTLS)', 'POP3S port (TLS)']) {
    const button = card.getByRole('button', { name: `Copy ${label}`, exact: true });
    await button.click();
    await expect(button.locator('xpath=following-sibling::*[@role="status"]')).toHaveText('Copied');
    copied[label] = await page.evaluate(() => navigator.clipboard.readText());
  }
  expect(copied.Username).toBe(mailboxAddress);
  expect(copied.Server).toBe('127.0.0.1');
  expect(copied['POP3 port (STARTTLS)']).toBe(process.env.MAILROOM_E2E_POP3_PORT);
  expect(copied['POP3S port (TLS)']).toBe(process.env.MAILROOM_E2E_POP3S_PORT);
  await expectAccessible(page, 'the mailbox page');
  await screenshot(page, 'journey-1-connection-settings');

  // A message arrives through the ingress (LMTP) ...
  const raw = Buffer.from(
    [
      'From: Bob <bob@elsewhere.example>',
      `To: Alice Smith <${mailboxAddress}>`,
      `Subject: Journey one ${uniqueName()}`,
      `Message-ID: <${uniqueName('m')}@elsewhere.example>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Hello Alice,',
      '.a line that starts with a dot must survive dot-stuffing',
      '..and so must two dots',
      'Grüße, Bob',
      '',
    ].join('\r\n'),
    'utf8',
  );
  await deliverLmtp(mailboxAddress, raw);

  // ... and a real POP3 client, configured from the copied settings and the typed password, retrieves it unchanged.
  const got = await pop3Fetch(copied.Username!, typed, copied['POP3 port (STARTTLS)'], copied.Server);
  expect(got.ok, JSON.stringify(got)).toBe(true);
  if (!got.ok) return;
  expect(got.messages).toHaveLength(1);
  const message = got.messages[0]!;
  // The server prepends trace header fields; everything after them is exactly what was sent.
  expect(message.subarray(message.length - raw.length).equals(raw)).toBe(true);
  const trace = message.subarray(0, message.length - raw.length).toString('latin1');
  expect(trace).toMatch(/^([A-Za-z-]+:.*\r\n([ \t].*\r\n)*)*$/);

  await page.reload();
  await expect(page.getByText('Messages waiting', { exact: true }).locator('..')).toContainText('1');
});
