// An owner blocks a sender in the panel and the MX refuses its mail for their domain; allowing it instead lets it in. A
// mailbox user keeps their own list, for their mailbox only, and blocks a waiting newsletter's From address in one click. Real browser, real API, real ingress on its SMTP port,
// real database.
import { randomBytes } from 'node:crypto';
import {
  createHostedMailbox,
  createOwnerWithDomain,
  expect,
  expectAccessible,
  screenshot,
  sendToMx,
  signIn,
  strongPassword,
  test,
  uniqueName,
} from './helpers';

test('sender rules: an owner blocks a sender, the MX refuses it; allowing it instead lets it through', async ({ page }) => {
  const { owner, domain, mailbox } = await createHostedMailbox('sr', { localPart: 'inbox' });
  const pest = `${uniqueName('pest')}.example`;
  const spammer = `Spam@${pest.toUpperCase()}`;

  await signIn(page, owner.email, owner.password);
  await page.goto(`/domains/${domain.id}`);
  const card = page.locator('#sender-rules');
  await expect(card.getByRole('heading', { name: 'Blocked and allowed senders' })).toBeVisible();
  await expect(card.getByText('No sender rules yet')).toBeVisible();

  // a wildcard is explained, not stored
  await card.getByLabel('Sender address or domain').fill(`*.${pest}`);
  await card.getByRole('button', { name: 'Add sender rule' }).click();
  await expect(card.getByText(/covers its subdomains too/)).toBeVisible();

  // blocked, in the spelling the sender used: stored lowercase
  await card.getByLabel('Sender address or domain').fill(spammer);
  await card.getByRole('radio', { name: /^Block:/ }).check();
  await card.getByRole('button', { name: 'Add sender rule' }).click();
  await expect(card.getByText(`spam@${pest} blocked.`)).toBeVisible();
  const row = card.getByRole('listitem').filter({ hasText: `spam@${pest}` });
  await expect(row.getByText('Blocked')).toBeVisible();
  // the same sender again is refused with a sentence
  await card.getByLabel('Sender address or domain').fill(`spam@${pest}`);
  await card.getByRole('button', { name: 'Add sender rule' }).click();
  await expect(card.getByText('That sender is listed already')).toBeVisible();
  await expectAccessible(page, 'the sender rules');
  await screenshot(page, 'sender-rules');

  expect(await sendToMx(spammer, mailbox.address)).toMatch(/^550 5\.7\.1 Sender address rejected/);
  // another sender at that domain is not blocked
  expect(await sendToMx(`friend@${pest}`, mailbox.address)).toMatch(/^250/);

  // Allow instead: its mail comes in
  await row.getByRole('button', { name: 'Allow instead' }).click();
  await expect(
    card
      .getByRole('listitem')
      .filter({ hasText: `spam@${pest}` })
      .getByText('Allowed'),
  ).toBeVisible();
  expect(await sendToMx(spammer, mailbox.address)).toMatch(/^250/);

  // deleted after a confirmation
  await card
    .getByRole('listitem')
    .filter({ hasText: `spam@${pest}` })
    .getByRole('button', { name: 'Delete' })
    .click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete rule' }).click();
  await expect(card.getByText('No sender rules yet')).toBeVisible();

  // the refusal is in the domain's delivery log, with its reason
  await page.goto(`/domains/${domain.id}/delivery-log?result=refused`);
  const refused = page.getByRole('row').filter({ hasText: mailbox.address });
  await expect(refused).toHaveCount(1);
  await expect(refused).toContainText('550 5.7.1');
  await expect(refused).toContainText('sender blocked by the domain');

  // from the delivery log: the domain of a sender whose mail came in is blocked in two clicks
  await page.goto(`/domains/${domain.id}/delivery-log?result=delivered&sender=friend`);
  const delivered = page.getByRole('row').filter({ hasText: `friend@${pest}` });
  await delivered.getByRole('button', { name: 'Block sender' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByRole('heading', { name: `Block friend@${pest}?` })).toBeVisible();
  await dialog.getByLabel(`The whole domain ${pest}`).check();
  await expect(dialog.getByRole('heading', { name: `Block ${pest}?` })).toBeVisible();
  await expectAccessible(page, 'the block-sender dialog');
  await dialog.getByRole('button', { name: 'Block', exact: true }).click();
  await expect(delivered.getByText(`${pest} blocked`)).toBeVisible();
  expect(await sendToMx(`someone@mail.${pest}`, mailbox.address)).toMatch(/^550 5\.7\.1/);
  await page.goto(`/domains/${domain.id}#sender-rules`);
  await expect(card.getByRole('listitem').filter({ hasText: pest })).toContainText('and its subdomains');

  // a newsletter from its mailing service's bounce address: the log names its author, and Block sender offers the
  // author first (the bounce address changes with every mailing), the sending address as the other choice
  const brand = `${uniqueName('brand')}.example`;
  const newsletter = `From: "Brand News" <news@${brand}>\r\nTo: ${mailbox.address}\r\nSubject: Weekly deals\r\n\r\nbuy\r\n`;
  const bounce = (n: number) => `bounce-${n}-${uniqueName('b')}@esp.example`;
  const first = bounce(1);
  expect(await sendToMx(first, mailbox.address, newsletter)).toMatch(/^250/);
  await page.goto(`/domains/${domain.id}/delivery-log?sender=${encodeURIComponent(`NEWS@${brand}`)}`);
  const news = page.getByRole('row').filter({ hasText: first });
  await expect(news).toContainText(`From: news@${brand}`);
  await news.getByRole('button', { name: 'Block sender' }).click();
  const pick = page.getByRole('dialog');
  await expect(pick.getByRole('heading', { name: `Block news@${brand}?` })).toBeVisible();
  await expect(pick.getByRole('radio', { name: /the From field/ })).toBeChecked();
  await pick.getByRole('radio', { name: /MAIL FROM/ }).check();
  await expect(pick.getByRole('heading', { name: `Block ${first}?` })).toBeVisible();
  await expectAccessible(page, 'choosing the author or the sending address to block');
  await screenshot(page, 'block-sender-author-or-envelope');
  await pick.getByRole('radio', { name: /the From field/ }).check();
  await pick.getByRole('button', { name: 'Block', exact: true }).click();
  await expect(news.getByText(`news@${brand} blocked`)).toBeVisible();
  // the next mailing comes from another bounce address, and is refused for its author
  expect(await sendToMx(bounce(2), mailbox.address, newsletter)).toMatch(/^550 5\.7\.1/);
  await page.goto(`/domains/${domain.id}#sender-rules`);
  await expect(card.getByRole('listitem').filter({ hasText: `news@${brand}` })).toContainText('Blocked');

  // a whole top-level domain, written as mailcow users write it
  const tld = Array.from(randomBytes(12), (b) => String.fromCharCode(97 + (b % 26))).join(''); // letters only, as a TLD is
  await card.getByLabel('Sender address or domain').fill(`*.${tld.toUpperCase()}`);
  await card.getByRole('radio', { name: /^Block:/ }).check();
  await card.getByRole('button', { name: 'Add sender rule' }).click();
  await expect(card.getByText(`.${tld} blocked.`)).toBeVisible();
  await expect(card.getByRole('listitem').filter({ hasText: `.${tld}` })).toContainText('every domain under it');
  expect(await sendToMx(`promo@deals.shop.${tld}`, mailbox.address)).toMatch(/^550 5\.7\.1/);
  expect(await sendToMx(`promo@${tld}.example`, mailbox.address)).toMatch(/^250/);
});

test('a mailbox user blocks a sender for their own mailbox: refused for them, delivered to a colleague; the owner sees the rule', async ({
  page,
}) => {
  const { owner, api, domain } = await createOwnerWithDomain('srm');
  const password = strongPassword();
  const me = await api.call<{ id: string; address: string }>('POST', `/domains/${domain.id}/mailboxes`, { localPart: 'me', password });
  const colleague = await api.call<{ id: string; address: string }>('POST', `/domains/${domain.id}/mailboxes`, {
    localPart: 'colleague',
    password: strongPassword(),
  });
  await api.ctx.dispose();
  const shop = `${uniqueName('shop')}.example`;

  await signIn(page, me.address, password);
  const card = page.locator('#sender-rules');
  await expect(card.getByRole('heading', { name: 'Blocked and allowed senders' })).toBeVisible();
  await expect(card.getByText('The domain owner’s list applies too')).toBeVisible();
  await card.getByLabel('Sender address or domain').fill(`@${shop}`);
  await card.getByRole('radio', { name: /^Block:/ }).check();
  await card.getByRole('button', { name: 'Add sender rule' }).click();
  await expect(card.getByText(`${shop} blocked.`)).toBeVisible();
  await expect(card.getByRole('listitem').filter({ hasText: shop })).toContainText('and its subdomains');
  await expectAccessible(page, 'a mailbox user’s sender rules');
  await screenshot(page, 'sender-rules-mailbox-user');

  expect(await sendToMx(`deals@news.${shop}`, me.address)).toMatch(/^550 5\.7\.1 Sender address rejected/);
  expect(await sendToMx(`deals@news.${shop}`, colleague.address)).toMatch(/^250/);

  // a newsletter sent from its mailing service's bounce address: blocked from the waiting message, by its From address
  const brand = `${uniqueName('brand')}.example`;
  const bounce = `bounce-${uniqueName('b')}@esp.example`;
  const newsletter = `From: "Brand News" <news@${brand}>\r\nTo: ${me.address}\r\nSubject: Weekly deals\r\n\r\nbuy\r\n`;
  expect(await sendToMx(bounce, me.address, newsletter)).toMatch(/^250/);
  await page.reload();
  const waiting = page.getByTestId('waiting-message').filter({ hasText: 'Weekly deals' });
  await expect(waiting).toContainText(`"Brand News" <news@${brand}>`);
  await waiting.getByRole('button', { name: 'Block sender' }).click();
  const dialog = page.getByRole('dialog', { name: `Block news@${brand}?` });
  await expect(dialog).toContainText('to this mailbox is refused from now on');
  // the message's Return-Path is offered too; its author is chosen first
  await expect(dialog.getByRole('radio', { name: /the From field/ })).toBeChecked();
  await expect(dialog.getByRole('radio', { name: new RegExp(`^${bounce.replace(/[.]/g, '\\.')} `) })).not.toBeChecked();
  await expectAccessible(page, 'blocking a waiting message’s sender');
  await dialog.getByRole('button', { name: 'Block', exact: true }).click();
  await expect(waiting.getByText(`news@${brand} blocked`)).toBeVisible();
  await expect(card.getByRole('listitem').filter({ hasText: `news@${brand}` })).toContainText('Blocked');
  await screenshot(page, 'waiting-message-sender-blocked');
  expect(await sendToMx(bounce, me.address, newsletter)).toMatch(/^550 5\.7\.1 Sender address rejected/);
  expect(await sendToMx(bounce, colleague.address, newsletter.replace(me.address, colleague.address))).toMatch(/^250/);

  // the owner sees it on the mailbox page, and can lift it there; the domain's own list stays empty
  await page.context().clearCookies();
  await signIn(page, owner.email, owner.password);
  await page.goto(`/domains/${domain.id}`);
  await expect(page.locator('#sender-rules').getByText('No sender rules yet')).toBeVisible();
  await page.goto(`/mailboxes/${me.id}#sender-rules`);
  const row = card.getByRole('listitem').filter({ hasText: shop });
  await expect(row.getByText('Blocked')).toBeVisible();
  await row.getByRole('button', { name: 'Allow instead' }).click();
  await expect(card.getByRole('listitem').filter({ hasText: shop }).getByText('Allowed')).toBeVisible();
  expect(await sendToMx(`deals@news.${shop}`, me.address)).toMatch(/^250/);

  // the owner keeps the mailboxes' lists from now on: the user sees theirs, and changes nothing
  await page.goto(`/domains/${domain.id}#sender-rules`);
  await card.getByRole('checkbox', { name: /Mailbox users keep their own lists/ }).uncheck();
  await expect(card.getByText('Saved.')).toBeVisible();
  await page.context().clearCookies();
  await signIn(page, me.address, password);
  await expect(card.getByText('The owner of your domain keeps this list')).toBeVisible();
  await expect(card.getByRole('listitem').filter({ hasText: `news@${brand}` })).toContainText('Blocked');
  await expect(card.getByRole('button')).toHaveCount(0);
  await expect(card.getByLabel('Sender address or domain')).toHaveCount(0);
  await expect(waiting.getByRole('button', { name: 'Block sender' })).toHaveCount(0);
  await expect(waiting).toContainText('Weekly deals');
  await expectAccessible(page, 'a mailbox user’s list kept by the owner');
});

test('an owner pastes a list of senders: checked line by line, imported at once, enforced by the MX, exported as CSV', async ({ page }) => {
  const { owner, domain, mailbox } = await createHostedMailbox('srb', { localPart: 'inbox' });
  const pest = `${uniqueName('bulk')}.example`;
  const friend = `friend@${uniqueName('ok')}.example`;

  await signIn(page, owner.email, owner.password);
  await page.goto(`/domains/${domain.id}`);
  const card = page.locator('#sender-rules');
  await card.getByText('Add many senders at once, or export the list').click();
  const list = card.getByLabel('Senders, one per line');
  // a wildcard the API refuses, and an action the panel cannot read: each named by its line, nothing stored
  await list.fill(`${pest.toUpperCase()}\n${friend} allow\n*.sub.${pest}\nspam@elsewhere.example reject`);
  await card.getByRole('button', { name: 'Check list' }).click();
  await expect(card.getByText('Line 4: “reject” is not an action')).toBeVisible();
  await list.fill(`${pest.toUpperCase()}\n${friend} allow\n*.sub.${pest}\n@${pest} allow`);
  await card.getByRole('button', { name: 'Check list' }).click();
  await expect(card.getByText(`Line 4: @${pest} is the same sender as line 1, with the other action`)).toBeVisible();
  await expect(card.getByText(new RegExp(`Line 3: \\*\\.sub\\.${pest.replace(/\./g, '\\.')}: .*subdomains`))).toBeVisible();
  await list.fill(`${pest.toUpperCase()}\n${friend} allow\n# the newsletter\nnews@shop.${pest},block`);
  await card.getByRole('button', { name: 'Check list' }).click();
  await expect(card.getByRole('region', { name: 'Check result' })).toContainText('Ready to import: 3 new senders, 0 changed');
  await expectAccessible(page, 'the sender list import');
  await screenshot(page, 'sender-rules-import');
  await card.getByRole('button', { name: 'Import', exact: true }).click();
  await expect(card.getByText(/Imported: 3 new senders, 0 changed, 0 already listed; 3 rules in the list now/)).toBeVisible();
  await expect(card.getByRole('listitem').filter({ hasText: pest }).first()).toContainText('Blocked');
  await expect(card.getByRole('listitem').filter({ hasText: friend })).toContainText('Allowed');

  expect(await sendToMx(`promo@mail.${pest}`, mailbox.address)).toMatch(/^550 5\.7\.1/);
  expect(await sendToMx(friend, mailbox.address)).toMatch(/^250/);

  const [download] = await Promise.all([page.waitForEvent('download'), card.getByRole('link', { name: 'Export CSV' }).click()]);
  const csv = await download.createReadStream().then(async (s) => {
    let text = '';
    for await (const chunk of s) text += chunk;
    return text;
  });
  const [header, ...rows] = csv.split('\r\n');
  expect(header).toBe('pattern,action');
  expect(rows.sort()).toEqual(['', `${friend},allow`, `${pest},block`, `news@shop.${pest},block`].sort());

  // the exported file, one sender added, read back from a file: only the new sender is new
  const file = card.getByLabel('Or read the list from a file (CSV or text)');
  const extra = `${uniqueName('more')}.example`;
  await file.setInputFiles({ name: 'senders.csv', mimeType: 'text/csv', buffer: Buffer.from(`${csv}${extra},block\r\n`) });
  await expect(list).toHaveValue(new RegExp(`^pattern,action\r?\n[^]*${extra.replace(/\./g, '\\.')},block`));
  await card.getByRole('button', { name: 'Check list' }).click();
  await expect(card.getByRole('region', { name: 'Check result' })).toContainText('1 new sender, 0 changed, 3 already listed');
  // a file far bigger than any list is not read
  await file.setInputFiles({ name: 'huge.txt', mimeType: 'text/plain', buffer: Buffer.alloc(600 * 1024, 'a') });
  await expect(card.getByText('huge.txt is over 512 KiB')).toBeVisible();
  await expect(list).toHaveValue(new RegExp(extra.replace(/\./g, '\\.')));
});
