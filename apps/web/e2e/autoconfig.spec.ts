import { readFile } from 'node:fs/promises';
import { request } from '@playwright/test';
import { XMLParser } from 'fast-xml-parser';
import { parse as parsePlist } from 'plist';
import { createHostedMailbox, env, expect, screenshot, signIn, test, uniqueName } from './helpers';

/**
 * Client autoconfiguration through the panel's origin, on the stack `npm start` runs: the well-known paths reach the
 * API, and every answer names the ports the stack really listens on (global-setup sets no public port: start.ts
 * passes POP3_PORT/POP3S_PORT), as the connection card and the downloaded profile do.
 */
const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  isArray: (n) => ['incomingServer', 'Protocol'].includes(n),
});

// Verified: a pending domain is not hosted (autoconfig answers 404, its mailbox users cannot sign in).
const hostedMailbox = () => createHostedMailbox('ac', { localPart: 'erin' });

function autodiscoverRequest(email: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>${email}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`;
}

test('the well-known autoconfig and autodiscover paths answer on the panel with the running ports', async () => {
  const { domain, mailbox } = await hostedMailbox();
  const pop3 = env('MAILROOM_E2E_POP3_PORT');
  const pop3s = env('MAILROOM_E2E_POP3S_PORT');
  const ctx = await request.newContext({ baseURL: env('MAILROOM_E2E_WEB_URL') });
  try {
    let first: string | undefined;
    for (const path of ['/.well-known/autoconfig/mail/config-v1.1.xml', '/mail/config-v1.1.xml']) {
      const res = await ctx.get(`${path}?emailaddress=${encodeURIComponent(mailbox.address)}`);
      expect(res.status(), path).toBe(200);
      expect(res.headers()['content-type']).toMatch(/^application\/xml/);
      const body = await res.text();
      first ??= body;
      expect(body, 'both paths give the same answer').toBe(first);
      const provider = xml.parse(body).clientConfig.emailProvider;
      expect(provider['@id']).toBe(domain.name);
      expect(
        provider.incomingServer.map((s: Record<string, string>) => [s['@type'], s.hostname, s.port, s.socketType, s.username]),
      ).toEqual([
        ['pop3', '127.0.0.1', pop3s, 'SSL', '%EMAILADDRESS%'],
        ['pop3', '127.0.0.1', pop3, 'STARTTLS', '%EMAILADDRESS%'],
      ]);
    }
    const unknown = await ctx.get(`/mail/config-v1.1.xml?emailaddress=erin@${uniqueName('nowhere')}.example`);
    expect(unknown.status()).toBe(404);

    for (const path of ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml']) {
      const res = await ctx.post(path, {
        data: autodiscoverRequest(mailbox.address),
        headers: { 'content-type': 'text/xml; charset=utf-8' },
      });
      expect(res.status(), path).toBe(200);
      const account = xml.parse(await res.text()).Autodiscover.Response.Account;
      expect(account.Protocol).toEqual([
        {
          Type: 'POP3',
          Server: '127.0.0.1',
          Port: pop3s,
          LoginName: mailbox.address,
          DomainRequired: 'off',
          SPA: 'off',
          SSL: 'on',
          Encryption: 'SSL',
          AuthRequired: 'on',
        },
      ]);
    }
    const laughs = `<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>${autodiscoverRequest('&b;@' + domain.name)}`;
    expect((await ctx.post('/autodiscover/autodiscover.xml', { data: laughs, headers: { 'content-type': 'text/xml' } })).status()).toBe(
      400,
    );
  } finally {
    await ctx.dispose();
  }
});

test('the mailbox page and the mailbox user’s home show the running ports and download the profile', async ({ page, browser }) => {
  const { owner, mailbox, password } = await hostedMailbox();
  const pop3s = Number(env('MAILROOM_E2E_POP3S_PORT'));
  await signIn(page, owner.email, owner.password);
  await page.goto(`/mailboxes/${mailbox.id}`);
  const card = page.locator('#connection-settings');
  await expect(card).toContainText(`SSL/TLS on ${pop3s}, or STARTTLS (STLS) on ${env('MAILROOM_E2E_POP3_PORT')}`);
  await screenshot(page, 'autoconfig-mailbox-card');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    card.getByRole('link', { name: 'Download profile (.mobileconfig)' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe(`${mailbox.address}.mobileconfig`);
  const profile = parsePlist(await readFile((await download.path())!, 'utf8')) as {
    PayloadType: string;
    PayloadContent: Record<string, unknown>[];
  };
  expect(profile.PayloadType).toBe('Configuration');
  expect(profile.PayloadContent[0]).toMatchObject({
    PayloadType: 'com.apple.mail.managed',
    EmailAccountType: 'EmailTypePOP',
    EmailAddress: mailbox.address,
    IncomingMailServerHostName: '127.0.0.1',
    IncomingMailServerPortNumber: pop3s,
    IncomingMailServerUseSSL: true,
    IncomingMailServerUsername: mailbox.address,
  });
  expect(profile.PayloadContent[0]!.IncomingPassword).toBeUndefined();

  // The mailbox user's own page: the profile with the password included, on request.
  const userContext = await browser.newContext();
  const userPage = await userContext.newPage();
  try {
    await signIn(userPage, mailbox.address, password);
    const own = userPage.locator('#connection-settings');
    await expect(own).toContainText(String(pop3s));
    await own.getByLabel('Include the password (optional)').fill(password);
    const [withPassword] = await Promise.all([
      userPage.waitForEvent('download'),
      own.getByRole('button', { name: 'Download with password' }).click(),
    ]);
    expect(withPassword.suggestedFilename()).toBe(`${mailbox.address}.mobileconfig`);
    const ownProfile = parsePlist(await readFile((await withPassword.path())!, 'utf8')) as { PayloadContent: Record<string, unknown>[] };
    expect(ownProfile.PayloadContent[0]).toMatchObject({
      EmailAddress: mailbox.address,
      IncomingMailServerPortNumber: pop3s,
      IncomingPassword: password,
    });
    await screenshot(userPage, 'autoconfig-mailbox-user-home');
  } finally {
    await userContext.close();
  }
});
