import { createHostedMailbox, createOwner, expect, expectAccessible, screenshot, signIn, test } from './helpers';

test("journey 4: owner B opening owner A's domain and mailbox URLs gets a not-found page", async ({ page }) => {
  const { owner: ownerA, domain, mailbox } = await createHostedMailbox('j4', { localPart: 'secret' });

  const ownerB = await createOwner();
  await signIn(page, ownerB.email, ownerB.password);

  for (const url of [
    `/domains/${domain.id}`,
    `/mailboxes/${mailbox.id}`,
    `/domains/${domain.id}/mailboxes/new`,
    '/domains/not-a-domain-id',
    '/admin/owners',
    `/admin/owners/${ownerA.id}`,
  ]) {
    const res = await page.goto(url);
    expect(res?.status()).toBe(404);
    await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
    await expect(page.getByText(domain.name)).toHaveCount(0);
  }
  await expectAccessible(page, 'the not-found page');
  await screenshot(page, 'journey-4-not-found');

  await page.getByRole('link', { name: 'Back to your dashboard' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Your domains' })).toBeVisible();
  await expect(page.getByText(domain.name)).toHaveCount(0);
});
