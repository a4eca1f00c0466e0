import { readFile } from 'node:fs/promises';
import { createOwner, createVerifiedDomain, expect, expectAccessible, screenshot, signIn, test, uniqueName } from './helpers';

test('bulk journey: an owner checks a CSV (dry run shows the bad rows), imports the valid ones, downloads the generated passwords, then disables two mailboxes at once', async ({
  page,
}) => {
  const owner = await createOwner();
  const domain = await createVerifiedDomain(owner.id, `${uniqueName('bulk')}.example`);
  await signIn(page, owner.email, owner.password);
  await page.goto(`/domains/${domain.id}`);
  await expect(page.getByRole('heading', { level: 1, name: domain.name })).toBeVisible();

  const csv = [
    'address,password,displayName,quota,enabled',
    'alice,,"Alice, A.",1 GB,yes',
    'bob,,Bob,500 MB,',
    'carol,,Carol,,',
    'bad user,,Nobody,,',
    'ALICE,,Twice,,',
  ].join('\r\n');
  await page
    .getByLabel('Import mailboxes from CSV')
    .setInputFiles({ name: 'mailboxes.csv', mimeType: 'text/csv', buffer: Buffer.from(`\uFEFF${csv}\r\n`) });
  await page.getByRole('button', { name: 'Check file' }).click();

  const result = page.getByLabel('Check result');
  await expect(result).toContainText('5 rows: 3 valid, 2 invalid');
  const issues = result.getByRole('table', { name: 'Rows that cannot be imported' });
  await expect(issues.getByRole('row')).toHaveCount(3);
  await expect(issues).toContainText('invalid_local_part');
  await expect(issues).toContainText('duplicate_in_file');
  // Nothing was written by the check.
  await expect(page.getByText('No mailboxes yet')).toBeVisible();
  await expectAccessible(page, 'the import preview');
  await screenshot(page, 'journey-bulk-import-preview');

  // All-or-nothing is the default: the import waits for "skip the invalid rows".
  await expect(page.getByRole('button', { name: 'Import mailboxes', exact: true })).toBeDisabled();
  await page.getByLabel('Skip the invalid rows').check();
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Import 3 mailboxes' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe(`passwords-${domain.name}.csv`);
  const passwords = (await readFile((await file.path())!, 'utf8')).trimEnd().split('\r\n');
  expect(passwords[0]).toBe('address,password');
  expect(
    passwords
      .slice(1)
      .map((l) => l.split(',')[0])
      .sort(),
  ).toEqual([`alice@${domain.name}`, `bob@${domain.name}`, `carol@${domain.name}`]);
  await expect(page.getByText('Imported 3 mailboxes; 2 invalid rows were skipped')).toBeVisible();
  const table = page.getByRole('table', { name: `Mailboxes of ${domain.name}` });
  await expect(table.getByRole('link', { name: `alice@${domain.name}` })).toBeVisible();

  // Bulk disable: select two mailboxes, disable them in one go.
  await table.getByLabel(`Select alice@${domain.name}`).check();
  await table.getByLabel(`Select bob@${domain.name}`).check();
  await expect(page.getByRole('toolbar', { name: 'Bulk actions' })).toContainText('Selected: 2 mailboxes');
  await page.getByRole('toolbar', { name: 'Bulk actions' }).getByRole('button', { name: 'Disable' }).click();
  await expect(page.getByText('Disabled 2 of 2 selected mailboxes.')).toBeVisible();
  await expect(table.getByRole('row', { name: new RegExp(`alice@${domain.name}`) })).toContainText('Disabled');
  await expect(table.getByRole('row', { name: new RegExp(`bob@${domain.name}`) })).toContainText('Disabled');
  await expect(table.getByRole('row', { name: new RegExp(`carol@${domain.name}`) })).toContainText('Enabled');
  await expectAccessible(page, 'the mailbox list after a bulk action');
  await screenshot(page, 'journey-bulk-disabled');
});
