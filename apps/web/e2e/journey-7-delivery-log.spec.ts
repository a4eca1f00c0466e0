import { createOwner, createVerifiedDomain, expect, expectAccessible, screenshot, sendToMx, signIn, test, uniqueName } from './helpers';

test('journey 7: an owner reads the delivery log entry of a message the MX refused, and why', async ({ page }) => {
  const owner = await createOwner();
  const domain = await createVerifiedDomain(owner.id, `${uniqueName('j7')}.example`);
  const nobody = `${uniqueName('nobody')}@${domain.name}`;
  const sender = `${uniqueName('sender')}@elsewhere.example`;

  // A sender's server hands over a message for an address that does not exist: the MX refuses it at RCPT.
  expect(
    await sendToMx(
      sender,
      nobody,
      `From: ${sender}\r\nTo: ${nobody}\r\nSubject: hello\r\nMessage-ID: <j7@elsewhere.example>\r\n\r\nhi\r\n`,
    ),
  ).toMatch(/550/);

  await signIn(page, owner.email, owner.password);
  await page.getByRole('link', { name: domain.name }).click();
  await expect(page.getByRole('heading', { level: 1, name: domain.name })).toBeVisible();
  const section = page.locator('#delivery-log');
  await expect(section.getByRole('heading', { name: 'Delivery log' })).toBeVisible();
  await expect(section).toContainText(nobody);
  await section.getByRole('link', { name: 'Search the delivery log' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Delivery log of ${domain.name}` })).toBeVisible();

  await page.getByLabel('Result').selectOption('refused');
  await page.getByLabel('Sender contains').fill(sender.split('@')[0]!);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/result=refused/);
  const row = page.getByRole('row').filter({ hasText: nobody });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('Refused');
  await expect(row).toContainText('550 5.1.1');
  await expect(row).toContainText('unknown user');
  await expect(row).toContainText(sender);
  await expectAccessible(page, 'the delivery log');
  await screenshot(page, 'journey-7-delivery-log');

  // Filtering for delivered mail shows nothing: the refusal is not mistaken for a delivery.
  await page.getByLabel('Result').selectOption('delivered');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page.getByText('No deliveries match these filters')).toBeVisible();
});
