// An owner blocks a sender in the panel and the MX refuses its mail for their domain; allowing it instead lets it in.
// Real browser, real API, real ingress on its SMTP port, real database.
import { createHostedMailbox, expect, expectAccessible, screenshot, sendToMx, signIn, test, uniqueName } from './helpers';

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
});
