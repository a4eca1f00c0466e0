// Domain onboarding in the panel (issue 11): an owner's new domain is pending with the TXT record to publish; the test
// publishes records on the stack's real DNS servers (dnsmasq, e2e/test-dns.ts); "Verify" and "Check DNS" resolve them
// through the API's unmodified resolver.
import { readFile } from 'node:fs/promises';
import { parse as parsePlist } from 'plist';
import {
  apiSession,
  createOwner,
  env,
  expect,
  expectAccessible,
  publishDns,
  runMailroomCli,
  screenshot,
  signIn,
  strongPassword,
  test,
  uniqueName,
} from './helpers';

const row = (page: import('@playwright/test').Page, purpose: string) => page.locator(`#dns-records tr[data-purpose="${purpose}"]`);

test('journey 6: an owner adds a domain, publishes its TXT record, verifies it, checks its records and offers the mailbox profile', async ({
  page,
  context,
}) => {
  // the longest journey: a dozen DNS publications and checks, a download, and the re-check CLI in a process of its own
  // (1.7 min on a slow CI machine, past the default 90 s)
  test.setTimeout(180_000);
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const owner = await createOwner();
  const domain = `${uniqueName('j6')}.example`;
  const mxHost = env('MAILROOM_E2E_MX_HOST');
  const mxBackup = env('MAILROOM_E2E_MX_BACKUP_HOST');
  const webHost = env('MAILROOM_E2E_WEB_HOST');
  const pop3sPort = env('MAILROOM_E2E_POP3S_PORT');
  await signIn(page, owner.email, owner.password);

  // Adding the domain lands on its page: pending, with the record to publish.
  await page.getByRole('link', { name: 'Add your first domain' }).click();
  await page.getByLabel('Domain name').fill(domain);
  await page.getByRole('button', { name: 'Add domain' }).click();
  await expect(page.getByRole('heading', { level: 1, name: domain })).toBeVisible();
  const header = page.locator('header');
  await expect(header.getByText('Pending verification')).toBeVisible();
  await expect(header.getByText(/^Claim expires \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/)).toBeVisible();
  const verification = page.locator('#verification');
  await expect(verification.getByRole('heading', { name: 'Verify that you own this domain' })).toBeVisible();
  await expect(verification).toContainText('mail for ' + domain + ' is refused');
  const copied: Record<string, string> = {};
  for (const label of ['record name', 'record value']) {
    const button = verification.getByRole('button', { name: `Copy ${label}`, exact: true });
    await button.click();
    await expect(button.locator('xpath=following-sibling::*[@role="status"]')).toHaveText('Copied');
    copied[label] = await page.evaluate(() => navigator.clipboard.readText());
  }
  expect(copied['record name']).toBe(`_mailroom.${domain}`);
  expect(copied['record value']).toMatch(/^mailroom-verify=[0-9a-f]{32}$/);
  await expect(verification.getByText('TXT', { exact: true })).toBeVisible();
  const token = copied['record value']!;
  await expectAccessible(page, 'a pending domain page');
  await screenshot(page, 'journey-6-pending-domain');

  // The dashboard flags it as awaiting verification.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Domains' }).click();
  const attention = page.getByRole('region', { name: 'Needs attention' });
  await expect(attention).toContainText('1 domain awaiting ownership verification');
  await expect(page.locator('#domains li', { hasText: domain }).getByText('Pending verification')).toBeVisible();
  await expectAccessible(page, 'the dashboard with a pending domain');
  await page.getByRole('link', { name: domain }).click();

  // Nothing published yet: the reason is shown, and the domain stays pending.
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(verification.getByRole('alert')).toContainText(`No TXT record found at _mailroom.${domain}`);
  await expect(header.getByText('Pending verification')).toBeVisible();

  // A wrong token: the reason names what DNS holds.
  await publishDns(domain, { txt: [[`_mailroom.${domain}`, 'mailroom-verify=00000000000000000000000000000000']] });
  await page.getByRole('button', { name: 'Verify' }).click();
  const alert = verification.getByRole('alert');
  await expect(alert).toContainText(`_mailroom.${domain} has TXT record(s), but none is "${token}"`);
  await expect(alert).toContainText('Found: mailroom-verify=00000000000000000000000000000000');
  await expectAccessible(page, 'a failed verification');
  await screenshot(page, 'journey-6-verify-refused');

  // The records card before anything points here: the check shows each record's state.
  const records = page.locator('#dns-records');
  await expect(records.getByRole('table', { name: `DNS records for ${domain}` })).toBeVisible();
  await expect(records).toContainText('SPF and DKIM records belong to whatever service sends mail');
  await expect(row(page, 'verification')).toContainText(`_mailroom.${domain}`);
  // one MX record per MX host of the operator's (two here), the most preferred required
  const mx = row(page, 'mx');
  await expect(mx).toHaveCount(2);
  await expect(mx.first()).toContainText(`10 ${mxHost}`);
  await expect(mx.first()).toContainText('Required');
  await expect(mx.nth(1)).toContainText(`20 ${mxBackup}`);
  await expect(mx.nth(1)).toContainText('Recommended');
  await records.getByRole('button', { name: 'Check DNS' }).click();
  await expect(row(page, 'verification')).toContainText('Different');
  for (const r of [mx.first(), mx.nth(1)]) {
    await expect(r).toContainText('Missing');
    await expect(r).toContainText('Nothing found');
  }

  // The owner publishes the right record (and points the domain here); Verify turns it active.
  await publishDns(domain, {
    txt: [
      [`_mailroom.${domain}`, token],
      [`_dmarc.${domain}`, 'v=DMARC1; p=quarantine'],
    ],
    mx: [[domain, mxHost, 10]],
    cname: [
      [`autoconfig.${domain}`, webHost],
      [`autodiscover.${domain}`, 'autodiscover.elsewhere.test'],
    ],
    srv: [[`_pop3s._tcp.${domain}`, '127.0.0.1', Number(pop3sPort), 0, 1]],
  });
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByText(`Domain verified: ${domain} is now active.`)).toBeVisible();
  await expect(header.getByText('Verified', { exact: true })).toBeVisible();
  await expect(header.getByText('Pending verification')).toHaveCount(0);
  await expect(page.locator('#verification')).toHaveCount(0);
  await expect(row(page, 'verification')).toHaveCount(0);

  // Each record's check: ok, different, missing, with what was found.
  await records.getByRole('button', { name: 'Check DNS' }).click();
  await expect(records.getByRole('status').first()).toContainText('4 OK, 1 missing, 2 different.');
  // only the first MX host is published: its record is OK, the second's is "Different", naming what DNS holds
  await expect(mx.first().getByText('OK', { exact: true })).toBeVisible();
  await expect(mx.nth(1).getByText('Different', { exact: true })).toBeVisible();
  for (const r of [mx.first(), mx.nth(1)]) await expect(r).toContainText(`Found: 10 ${mxHost}`);
  const expected: [string, string, string][] = [
    ['autoconfig', 'OK', `Found: ${webHost}`],
    ['autodiscover', 'Different', 'Found: autodiscover.elsewhere.test'],
    ['pop3s-srv', 'OK', `Found: 0 1 ${pop3sPort} 127.0.0.1`],
    ['pop3-srv', 'Missing', 'Nothing found'],
    ['dmarc', 'OK', 'Found: v=DMARC1; p=quarantine'],
  ];
  for (const [purpose, status, found] of expected) {
    await expect(row(page, purpose).getByText(status, { exact: true })).toBeVisible();
    await expect(row(page, purpose)).toContainText(found);
  }
  await expectAccessible(page, 'the verified domain page with checked records');
  await screenshot(page, 'journey-6-records-checked');

  // The mailbox page offers the profile download.
  await page.getByRole('link', { name: 'New mailbox' }).click();
  await page.getByLabel('Address', { exact: true }).fill('carol');
  await page.getByLabel('Password', { exact: true }).fill(strongPassword());
  await page.getByRole('button', { name: 'Create mailbox' }).click();
  const address = `carol@${domain}`;
  await expect(page.getByRole('heading', { level: 1, name: address })).toBeVisible();
  const profileLink = page.locator('#connection-settings').getByRole('link', { name: 'Download profile (.mobileconfig)' });
  await expect(profileLink).toBeVisible();
  await profileLink.scrollIntoViewIfNeeded();
  const [download] = await Promise.all([page.waitForEvent('download'), profileLink.click()]);
  expect(download.suggestedFilename()).toBe(`${address}.mobileconfig`);
  const profile = parsePlist(await readFile((await download.path())!, 'utf8')) as { PayloadContent: Record<string, unknown>[] };
  expect(profile.PayloadContent[0]).toMatchObject({
    EmailAddress: address,
    IncomingMailServerUsername: address,
    IncomingMailServerPortNumber: Number(pop3sPort),
  });
  await screenshot(page, 'journey-6-mailbox-profile');

  // Later the MX moves away: the periodic re-check (the operator's cron job) flags it on the dashboard.
  await publishDns(domain, { mx: [[domain, 'mx.other-provider.test', 10]] });
  const recheck = await runMailroomCli(['domains', 'recheck']);
  expect(recheck.code, recheck.output).toBe(0);
  expect(recheck.output).toContain(domain);
  await page.goto('/');
  await expect(attention).toContainText('1 domain: the MX record no longer points here');
  await expect(attention).not.toContainText('awaiting ownership verification');
  await expect(page.locator('#domains li', { hasText: domain }).getByText('MX points elsewhere')).toBeVisible();
  await expectAccessible(page, 'the dashboard with a flagged domain');
  await screenshot(page, 'journey-6-dashboard-mx-flag');
});

test('journey 6: two owners claim one name; the first to verify gets it and the other claim is gone from the panel', async ({ page }) => {
  const [first, second] = [await createOwner(), await createOwner()];
  const domain = `${uniqueName('j6race')}.example`;
  const a = await apiSession(first.email, first.password);
  const b = await apiSession(second.email, second.password);
  const claimA = await a.call<{ id: string; verificationRecord: { value: string } }>('POST', '/domains', { name: domain });
  const claimB = await b.call<{ id: string }>('POST', '/domains', { name: domain });
  await a.ctx.dispose();
  await b.ctx.dispose();

  // The second owner publishes the first owner's token (as if the first owner controlled the zone) and cannot use it.
  await publishDns(domain, { txt: [[`_mailroom.${domain}`, claimA.verificationRecord.value]] });
  await signIn(page, second.email, second.password);
  await page.goto(`/domains/${claimB.id}`);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.locator('#verification').getByRole('alert')).toContainText('but none is');
  await expect(page.locator('header').getByText('Pending verification')).toBeVisible();

  // The first owner verifies in the panel; the second owner's claim disappears.
  const firstContext = await page.context().browser()!.newContext();
  const firstPage = await firstContext.newPage();
  try {
    await signIn(firstPage, first.email, first.password);
    await firstPage.goto(`/domains/${claimA.id}`);
    await firstPage.getByRole('button', { name: 'Verify' }).click();
    await expect(firstPage.locator('header').getByText('Verified', { exact: true })).toBeVisible();
  } finally {
    await firstContext.close();
  }
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.locator('#verification').getByRole('alert')).toContainText(/no longer exists|not found|verified this domain first/i);
  const res = await page.goto(`/domains/${claimB.id}`);
  expect(res?.status()).toBe(404);
  await page.goto('/');
  await expect(page.getByText(domain)).toHaveCount(0);
});

test('journey 6: a resolver that refuses gives a clear reason, and the domain stays pending', async ({ page }) => {
  const owner = await createOwner();
  // Outside the test DNS servers' zones: they answer REFUSED, as a broken or unreachable resolver would fail.
  const domain = `${uniqueName('j6dead')}.example.net`;
  await signIn(page, owner.email, owner.password);
  await page.goto('/domains/new');
  await page.getByLabel('Domain name').fill(domain);
  await page.getByRole('button', { name: 'Add domain' }).click();
  await expect(page.getByRole('heading', { level: 1, name: domain })).toBeVisible();

  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.locator('#verification').getByRole('alert')).toContainText(`The DNS resolver could not answer for _mailroom.${domain}`);
  await page.locator('#dns-records').getByRole('button', { name: 'Check DNS' }).click();
  await expect(page.locator('#dns-records').getByRole('alert')).toContainText('The DNS resolver could not answer');
  await page.reload();
  await expect(page.locator('header').getByText('Pending verification')).toBeVisible();
  await expectAccessible(page, 'a domain page with DNS errors');

  // A mailbox may be prepared meanwhile; its page says why it does not work yet, and still offers the profile.
  await page.getByRole('link', { name: 'New mailbox' }).click();
  await page.getByLabel('Address', { exact: true }).fill('dave');
  await page.getByLabel('Password', { exact: true }).fill(strongPassword());
  await page.getByRole('button', { name: 'Create mailbox' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `dave@${domain}` })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'is not verified yet' })).toContainText(
    'cannot sign in until the domain is verified',
  );
  await expect(page.locator('#connection-settings').getByRole('link', { name: 'Download profile (.mobileconfig)' })).toBeVisible();
});
