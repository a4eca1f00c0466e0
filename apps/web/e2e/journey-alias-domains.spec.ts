// Alias domains in the panel: an owner adds one from the target's page, proves it with its TXT record on the stack's
// real DNS servers, and mail to name@the alias domain arrives in name@the target's mailbox over real LMTP and POP3.
import {
  adminSession,
  apiSession,
  createHostedMailbox,
  expect,
  expectAccessible,
  deliverLmtp,
  pop3Fetch,
  publishDns,
  screenshot,
  signIn,
  strongPassword,
  test,
  uniqueName,
} from './helpers';

test('alias domains: an owner adds one to a domain, verifies it, and its mail reaches the target mailbox', async ({ page }) => {
  const { owner, domain, mailbox, password } = await createHostedMailbox('jad', { localPart: 'alice' });
  const alias = `${uniqueName('jad-alias')}.example`;
  await signIn(page, owner.email, owner.password);

  // From the target's page: "Add alias domain" opens the form with the target chosen.
  await page.getByRole('link', { name: domain.name }).click();
  const aliasDomains = page.locator('#alias-domains');
  await expect(aliasDomains).toContainText('No alias domains');
  await aliasDomains.getByRole('link', { name: 'Add alias domain' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Add domain' })).toBeVisible();
  // the target is the picker's choice (its search results, which load beside it, may list it too)
  await expect(page.getByRole('list', { name: /^Chosen: Alias of/ }).getByText(domain.name, { exact: true })).toBeVisible();
  // an alias domain has no mailboxes of its own, so no default quota is asked for
  await expect(page.getByLabel('Default mailbox quota')).toHaveCount(0);
  await expectAccessible(page, 'the new-domain form with an alias target');
  await page.getByLabel('Domain name').fill(alias);
  await page.getByRole('button', { name: 'Add domain' }).click();

  // Its page: pending, where its mail goes, only the records an alias domain needs, no mailboxes.
  await expect(page.getByRole('heading', { level: 1, name: alias })).toBeVisible();
  const header = page.locator('header', { has: page.getByRole('heading', { level: 1 }) });
  await expect(header).toContainText(`Alias domain of ${domain.name}`);
  await expect(header.getByText('Pending verification')).toBeVisible();
  await expect(page.locator('#alias-target')).toContainText(`name@${alias}`);
  await expect(page.locator('#mailboxes')).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'New mailbox' })).toHaveCount(0);
  // one per MX host (the e2e stack has two)
  await expect(page.locator('#dns-records tr[data-purpose="mx"]')).toHaveCount(2);
  await expect(page.locator('#dns-records tr[data-purpose="autoconfig"]')).toHaveCount(1);
  await expect(page.locator('#dns-records tr[data-purpose="pop3s-srv"]')).toHaveCount(0);
  await expectAccessible(page, 'an alias domain page');
  await screenshot(page, 'alias-domain-pending');

  // Mail is refused while it is pending.
  const raw = Buffer.from(
    `From: sender@elsewhere.example\r\nTo: alice@${alias}\r\nSubject: via the alias domain\r\nMessage-ID: <${uniqueName('m')}@elsewhere.example>\r\n\r\nhello\r\n`,
  );
  await expect(deliverLmtp(`alice@${alias}`, raw)).rejects.toThrow();

  // Its TXT record published on the stack's DNS servers, Verify makes it hosted.
  const api = await apiSession(owner.email, owner.password);
  const aliasId = new URL(page.url()).pathname.split('/').pop()!;
  const created = await api.call<{ verificationRecord: { name: string; value: string } }>('GET', `/domains/${aliasId}`);
  await publishDns(alias, { txt: [[created.verificationRecord.name, created.verificationRecord.value]] });
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(header.getByText('Verified')).toBeVisible();

  // Mail to alice@the alias domain is stored in alice@the target, and collected over POP3 with the target address.
  await deliverLmtp(`alice@${alias}`, raw);
  const fetched = await pop3Fetch(mailbox.address, password);
  expect(fetched.ok, JSON.stringify(fetched)).toBe(true);
  const messages = fetched.ok ? fetched.messages.map((m) => m.toString('latin1')) : [];
  expect(messages).toHaveLength(1);
  expect(messages[0]).toContain('Subject: via the alias domain');
  expect(messages[0]).toContain(`Delivered-To: alice@${alias}`);
  // nobody signs in with the alias domain's address
  const refused = await pop3Fetch(`alice@${alias}`, password);
  expect(refused.ok).toBe(false);

  // The mailbox's page names its address at the alias domain.
  await page.goto(`/mailboxes/${mailbox.id}`);
  await expect(page.locator('header', { has: page.getByRole('heading', { level: 1 }) })).toContainText(
    `Also receives mail as alice@${alias}`,
  );
  await page.getByRole('link', { name: domain.name }).first().click();

  // The target lists it, and so does the dashboard.
  await expect(aliasDomains.locator('li', { hasText: alias }).getByText('Verified')).toBeVisible();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Domains' }).click();
  await expect(page.locator('#domains li', { hasText: alias })).toContainText(`Alias of ${domain.name}`);

  // The owner's second domain (its operator verified it) takes over: the alias domain's page points it there, and
  // alice@the alias domain now reaches alice@the second domain.
  const ops = await adminSession();
  const second = await ops.call<{ id: string; name: string }>('POST', '/domains', {
    name: `${uniqueName('jad-second')}.example`,
    ownerId: owner.id,
    verified: true,
  });
  const secondPassword = strongPassword();
  const secondAlice = await ops.call<{ address: string }>('POST', `/domains/${second.id}/mailboxes`, {
    localPart: 'alice',
    password: secondPassword,
  });
  await ops.ctx.dispose();
  await page.goto(`/domains/${aliasId}`);
  const where = page.locator('#alias-target');
  const picker = where.getByRole('group', { name: 'Send its mail to another domain instead' });
  // the current target is not offered
  await picker.getByRole('searchbox').fill(domain.name);
  await expect(picker.getByText('No match.')).toBeVisible();
  await picker.getByRole('searchbox').fill(second.name);
  await picker.getByRole('radio', { name: second.name, exact: true }).check();
  await where.getByRole('button', { name: 'Change target' }).click();
  await expect(where.getByText(`Its mail now goes to ${second.name}.`)).toBeVisible();
  await expect(header).toContainText(`Alias domain of ${second.name}`);
  await expectAccessible(page, 'an alias domain page with its target form');
  const moved = Buffer.from(
    `From: sender@elsewhere.example\r\nTo: alice@${alias}\r\nSubject: after the move\r\nMessage-ID: <${uniqueName('m')}@elsewhere.example>\r\n\r\nhello\r\n`,
  );
  await deliverLmtp(`alice@${alias}`, moved);
  const atSecond = await pop3Fetch(secondAlice.address, secondPassword);
  expect(atSecond.ok ? atSecond.messages.map((m) => m.toString('latin1').includes('Subject: after the move')) : atSecond).toEqual([true]);

  // Made a domain of its own, it has a mailbox section, and mail to alice@it is refused until a mailbox exists.
  await where.getByRole('button', { name: 'Make it a domain of its own' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Make it a domain of its own' }).click();
  await expect(page.locator('#mailboxes')).toBeVisible();
  await expect(header).not.toContainText('Alias domain of');
  await expect(deliverLmtp(`alice@${alias}`, moved)).rejects.toThrow();

  // Empty, it can become an alias domain again: of the first domain, whose alice then gets its mail once more.
  const own = page.locator('#alias-domains');
  const again = own.getByRole('group', { name: 'Make it an alias domain of' });
  await again.getByRole('searchbox').fill(domain.name);
  await again.getByRole('radio', { name: domain.name, exact: true }).check();
  await own.getByRole('button', { name: 'Make it an alias domain' }).click();
  await expect(header).toContainText(`Alias domain of ${domain.name}`);
  await expect(page.locator('#mailboxes')).toHaveCount(0);
  await deliverLmtp(`alice@${alias}`, moved);
  const backAtFirst = await pop3Fetch(mailbox.address, password);
  expect(
    backAtFirst.ok ? backAtFirst.messages.filter((m) => m.toString('latin1').includes('Subject: after the move')).length : backAtFirst,
  ).toBe(1);
  await api.ctx.dispose();
});
