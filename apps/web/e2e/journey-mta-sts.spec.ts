// MTA-STS (RFC 8461) in the panel, on the stack `npm start` runs: an owner publishes a policy in testing mode, finds its
// records under DNS records (checked against the stack's real DNS servers), is refused enforce while a backup MX points
// elsewhere, enforces once it is gone, and withdraws. Senders fetch the policy from the panel's origin by Host
// (`mta-sts.<domain>`), read here with mailauth's parser, the one WildDuck's and ZoneMTA's senders use.
import http from 'node:http';
import { parsePolicy } from 'mailauth/lib/mta-sts.js';
import { createOwnerWithDomain, env, expect, expectAccessible, publishDns, runMailroomCli, screenshot, signIn, test } from './helpers';

/** GET /.well-known/mta-sts.txt on the panel, as a sender connecting to `host` asks it. */
function fetchPolicy(host: string, query = ''): Promise<{ status: number; type: string | undefined; body: string }> {
  const url = new URL(`/.well-known/mta-sts.txt${query}`, env('MAILROOM_E2E_WEB_URL'));
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
  });
}

test('MTA-STS: testing, its records, enforce refused while a backup MX is elsewhere, enforce, withdraw', async ({ page }) => {
  const { owner, api, domain } = await createOwnerWithDomain('sts');
  await api.ctx.dispose();
  const mxHost = env('MAILROOM_E2E_MX_HOST');
  const mxBackup = env('MAILROOM_E2E_MX_BACKUP_HOST');
  const webHost = env('MAILROOM_E2E_WEB_HOST');
  await signIn(page, owner.email, owner.password);
  await page.goto(`/domains/${domain.id}`);
  const card = page.locator('#mta-sts');
  await expect(card.getByRole('heading', { name: 'Encrypted delivery (MTA-STS)' })).toBeVisible();
  expect((await fetchPolicy(`mta-sts.${domain.name}`)).status).toBe(404);
  await expect(page.locator('#dns-records tr[data-purpose="mta-sts"]')).toHaveCount(0);

  // Testing: the policy is served by Host, in whatever case the sender spells it.
  await card.getByLabel(/^Testing:/).check();
  await card.getByRole('button', { name: 'Save MTA-STS' }).click();
  await expect(card.getByText('Saved.')).toBeVisible();
  const shown = await card.getByTestId('mta-sts-policy').textContent();
  expect(shown).toContain('mode: testing');
  const served = await fetchPolicy(`MTA-STS.${domain.name.toUpperCase()}`);
  expect(served).toMatchObject({ status: 200, type: 'text/plain; charset=utf-8' });
  expect(parsePolicy(served.body)).toMatchObject({ version: 'STSv1', mode: 'testing', mx: [mxHost, mxBackup] });
  // the Host decides, never a query the client adds: another domain's name there changes nothing
  expect(await fetchPolicy(`mta-sts.${domain.name}`, '?host=mta-sts.other.example')).toEqual(served);
  expect((await fetchPolicy('mta-sts.other.example', `?host=mta-sts.${domain.name}`)).status).toBe(404);
  await expectAccessible(page, 'a domain page with an MTA-STS policy');

  // Its records are listed under DNS records, and Check DNS finds them once published.
  const row = (purpose: string) => page.locator(`#dns-records tr[data-purpose="${purpose}"]`);
  await expect(row('mta-sts-host')).toContainText(`mta-sts.${domain.name}`);
  await expect(row('mta-sts-host')).toContainText(webHost);
  const txt = (await row('mta-sts').locator('td').nth(2).textContent())?.match(/v=STSv1; id=[a-f0-9]{20}/)?.[0];
  expect(txt).toBeTruthy();
  await expect(row('tls-rpt')).toContainText(`v=TLSRPTv1; rua=mailto:postmaster@${domain.name}`);
  await publishDns(domain.name, {
    mx: [
      [domain.name, mxHost, 10],
      [domain.name, 'backup.other-provider.test', 20],
    ],
    cname: [[`mta-sts.${domain.name}`, webHost]],
    txt: [
      [`_mta-sts.${domain.name}`, txt!],
      [`_smtp._tls.${domain.name}`, `v=TLSRPTv1; rua=mailto:postmaster@${domain.name}`],
    ],
  });
  await page.locator('#dns-records').getByRole('button', { name: 'Check DNS' }).click();
  for (const purpose of ['mta-sts-host', 'mta-sts', 'tls-rpt']) await expect(row(purpose).getByText('OK', { exact: true })).toBeVisible();

  // Enforce is refused while an MX record names another host: senders would refuse to deliver to it.
  await card.getByLabel(/^Enforce:/).check();
  await card.getByRole('button', { name: 'Save MTA-STS' }).click();
  await expect(card.getByRole('alert')).toContainText('backup.other-provider.test');
  expect(parsePolicy((await fetchPolicy(`mta-sts.${domain.name}`)).body).mode).toBe('testing');
  await screenshot(page, 'mta-sts-enforce-refused');

  // both of Mailroom's MX hosts: every record names a host the policy lists
  await publishDns(domain.name, {
    mx: [
      [domain.name, mxHost, 10],
      [domain.name, mxBackup, 20],
    ],
    cname: [[`mta-sts.${domain.name}`, webHost]],
    txt: [[`_mta-sts.${domain.name}`, txt!]],
  });
  await card.getByLabel(/^Enforce:/).check();
  await card.getByRole('button', { name: 'Save MTA-STS' }).click();
  await expect(card.getByText('Saved.')).toBeVisible();
  expect(parsePolicy((await fetchPolicy(`mta-sts.${domain.name}`)).body).mode).toBe('enforce');
  // a new policy, a new id: the record published for testing is now out of date
  await page.locator('#dns-records').getByRole('button', { name: 'Check DNS' }).click();
  await expect(row('mta-sts').getByText('Different', { exact: true })).toBeVisible();
  // The periodic re-check (here the operator's CLI) finds it too, and the domain is flagged until it is republished.
  const recheck = await runMailroomCli(['domains', 'recheck']);
  expect(recheck.code, recheck.output).toBe(0);
  expect(recheck.output).toContain(`${domain.name}: MTA-STS record different`);
  await page.reload();
  await expect(page.locator('header').getByText('MTA-STS record out of date')).toBeVisible();
  await page.goto('/');
  await expect(page.getByRole('region', { name: 'Needs attention' })).toContainText(
    '1 domain: the MTA-STS record does not name the policy',
  );
  await page.goto(`/domains/${domain.id}`);

  // Deleting the domain now would leave senders enforcing a policy nobody serves: the dialog says so.
  await page.getByRole('button', { name: 'Delete domain' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('Its MTA-STS policy is in enforce mode');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toHaveCount(0);

  // From enforce the way out is Withdraw (mode none), not "Not published".
  await expect(card.getByLabel('Not published')).toHaveCount(0);
  await card.getByLabel(/^Withdraw:/).check();
  await card.getByRole('button', { name: 'Save MTA-STS' }).click();
  await expect(
    card.getByText(/The policy is being withdrawn\. Publish the new id .* they may keep the previous policy until \d{4}-\d{2}-\d{2}/),
  ).toBeVisible();
  expect(parsePolicy((await fetchPolicy(`mta-sts.${domain.name}`)).body).mode).toBe('none');
  await screenshot(page, 'mta-sts-withdrawn');
  await card.getByLabel('Not published').check();
  await card.getByRole('button', { name: 'Save MTA-STS' }).click();
  await expect(card.getByTestId('mta-sts-policy')).toHaveCount(0);
  expect((await fetchPolicy(`mta-sts.${domain.name}`)).status).toBe(404);
});
