import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  apiSession,
  createOwner,
  createVerifiedDomain,
  expect,
  expectAccessible,
  screenshot,
  signIn,
  strongPassword,
  test,
  uniqueName,
} from './helpers';

interface Hit {
  id: string;
  type: string;
  signed: boolean;
}

/** A billing system's receiver on loopback: checks each request's signature with the secret the panel showed. */
async function startReceiver(): Promise<{
  url: string;
  brokenUrl: string;
  hits: Hit[];
  setSecret(s: string): void;
  close(): Promise<void>;
}> {
  const hits: Hit[] = [];
  let secret = '';
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id']);
      const expected = `v1,${createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64'))
        .update(`${id}.${req.headers['webhook-timestamp']}.${body}`)
        .digest('base64')}`;
      if (req.url === '/broken') return void res.writeHead(500).end('down for maintenance');
      hits.push({
        id,
        type: (JSON.parse(body) as { type: string }).type,
        signed: String(req.headers['webhook-signature']).split(' ').includes(expected),
      });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mailroom-events`,
    brokenUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/broken`,
    hits,
    setSecret: (s) => (secret = s),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

test('journey 7: an owner registers a webhook, copies its secret, and sees a signed delivery arrive and redelivered', async ({ page }) => {
  const receiver = await startReceiver();
  try {
    const owner = await createOwner();
    const domain = await createVerifiedDomain(owner.id, `${uniqueName('j7')}.example`);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Webhooks' })).toBeVisible();
    await expect(page.getByText('No endpoints yet')).toBeVisible();

    await page.getByLabel('Endpoint URL').fill(receiver.url);
    await page.getByLabel('Description').fill('billing sync');
    await page.getByLabel('mailbox.created').check();
    await expectAccessible(page, 'the webhooks page');
    await page.getByRole('button', { name: 'Register endpoint' }).click();
    await expect(page.getByText('Copy its signing secret now')).toBeVisible();
    const secret = (await page.getByTestId('new-webhook-secret').textContent())!.trim();
    expect(secret).toMatch(/^whsec_/);
    receiver.setSecret(secret);
    await expect(page.getByRole('link', { name: receiver.url })).toBeVisible();
    await screenshot(page, 'webhook-registered');

    // a change the billing system wants to hear about
    const api = await apiSession(owner.email, owner.password);
    await api.call('POST', `/domains/${domain.id}/mailboxes`, { localPart: 'billing-test', password: strongPassword() });
    await api.ctx.dispose();
    await expect.poll(() => receiver.hits.length, { timeout: 20_000 }).toBe(1);
    expect(receiver.hits[0]).toMatchObject({ type: 'mailbox.created', signed: true });

    await page.getByRole('link', { name: receiver.url }).click();
    await expect(page.getByRole('heading', { level: 1, name: receiver.url })).toBeVisible();
    const delivery = page.getByTestId('webhook-delivery').first();
    await expect(async () => {
      await page.reload();
      await expect(delivery.getByText('succeeded')).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 20_000 });
    await expect(delivery.getByRole('cell', { name: '200' })).toBeVisible();
    await expect(delivery.getByText(`webhook-id ${receiver.hits[0]!.id}`)).toBeVisible();
    await expectAccessible(page, 'the webhook endpoint page');

    await delivery.getByRole('button', { name: 'Redeliver' }).click();
    await expect.poll(() => receiver.hits.length, { timeout: 20_000 }).toBe(2);
    expect(receiver.hits[1]).toEqual(receiver.hits[0]);
    await screenshot(page, 'webhook-deliveries');

    // a receiver that keeps failing is disabled, and its owner is told on the dashboard
    const api2 = await apiSession(owner.email, owner.password);
    const broken = await api2.call<{ id: string }>('POST', '/webhooks', { url: receiver.brokenUrl, eventTypes: ['mailbox.created'] });
    await api2.call('POST', `/domains/${domain.id}/mailboxes`, { localPart: 'second', password: strongPassword() });
    await api2.ctx.dispose();
    await expect(async () => {
      await page.goto('/');
      await expect(page.getByRole('heading', { name: 'A webhook endpoint was disabled' })).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
    await page.getByRole('link', { name: 'Review and enable again' }).click();
    await expect(page).toHaveURL(new RegExp(`/webhooks/${broken.id}$`));
    await expect(page.getByText(/Disabled on .* after 2 failed attempts in a row/)).toBeVisible();
    await screenshot(page, 'webhook-disabled');
  } finally {
    await receiver.close();
  }
});
