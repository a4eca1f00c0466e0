import { createHostedMailbox, deliverLmtp, expect, expectAccessible, pop3Fetch, screenshot, signIn, test } from './helpers';

test('journey 7: an owner finds the message stuck in a mailbox and deletes it; POP3 then gets only the rest', async ({ page }) => {
  const { owner, mailbox, password } = await createHostedMailbox('j7', { localPart: 'erin' });
  await deliverLmtp(
    mailbox.address,
    Buffer.from(
      `From: Big Sender <big@elsewhere.example>\r\nSubject: =?UTF-8?B?Umllc2lnZXIgQW5oYW5n?=\r\nDate: Tue, 1 Dec 2026 08:00:00 +0000\r\n\r\n${'A'.repeat(300_000)}\r\n`,
    ),
  );
  await deliverLmtp(
    mailbox.address,
    Buffer.from('From: Friend <friend@elsewhere.example>\r\nSubject: Lunch?\r\n\r\nTomorrow at noon?\r\n'),
  );

  await signIn(page, owner.email, owner.password);
  await page.goto(`/mailboxes/${mailbox.id}`);
  const section = page.locator('#waiting-messages');
  await expect(section.getByRole('heading', { name: 'Waiting messages' })).toBeVisible();
  const rows = section.getByTestId('waiting-message');
  await expect(rows).toHaveCount(2);
  // the encoded-word subject is shown decoded
  await expect(rows.first()).toContainText('Riesiger Anhang');
  await expect(rows.first()).toContainText('Big Sender');
  await expectAccessible(page, 'the mailbox page with waiting messages');

  await section.getByLabel(/Select message Riesiger Anhang/).check();
  await section.getByRole('button', { name: 'Delete selected (1)' }).click();
  await expect(section.getByText('Deleted 1 message')).toBeVisible();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('Lunch?');
  await screenshot(page, 'journey-7-message-deleted');

  const fetched = await pop3Fetch(mailbox.address, password);
  expect(fetched.ok).toBe(true);
  if (fetched.ok) {
    expect(fetched.messages).toHaveLength(1);
    expect(fetched.messages[0]!.toString()).toContain('Subject: Lunch?');
  }
});
