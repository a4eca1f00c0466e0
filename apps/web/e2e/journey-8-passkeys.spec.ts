/**
 * Journey 8: passkeys, with Chromium's virtual authenticator (CDP WebAuthn domain: CTAP2, resident keys, user
 * verification). An owner adds a named passkey on the Account page, signs in with it alone (no username), is asked for
 * it after the password (second factor), renames it and removes it; afterwards the authenticator's credential no
 * longer signs in and the password alone does. The panel is opened as http://localhost:<port> (WEBAUTHN_ORIGIN of the
 * journeys' stack), since no browser accepts an IP address as RP ID.
 */
import type { BrowserContext, CDPSession, Page } from '@playwright/test';
import { createOwner, env, expect, expectAccessible, test } from './helpers';

const origin = () => env('MAILROOM_E2E_WEB_URL').replace('127.0.0.1', 'localhost');

async function addVirtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

async function signedOut(context: BrowserContext, page: Page): Promise<void> {
  await context.clearCookies();
  await page.goto(`${origin()}/login`);
}

test('an owner adds a passkey, signs in with it alone and as second factor, renames and removes it', async ({ page, context }) => {
  const owner = await createOwner();
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);

  // password sign-in (no factor yet), then the Account page's Passkeys section
  await page.goto(`${origin()}/login`);
  await page.getByLabel('Email or mailbox address').fill(owner.email);
  await page.getByLabel('Password', { exact: true }).fill(owner.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).not.toHaveURL(/\/login/);
  await page.goto(`${origin()}/account`);
  const section = page.locator('#passkeys');
  await expect(section.getByText('No passkeys yet')).toBeVisible();
  await section.getByLabel('Name of the new passkey').fill('Laptop');
  await section.getByRole('button', { name: 'Add a passkey' }).click();
  await expect(section.getByText('Passkey “Laptop” added.')).toBeVisible();
  await expect(section.getByTestId('passkey')).toHaveCount(1);
  await expect(section.getByTestId('passkey')).toContainText('Last used never');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0]!.isResidentCredential).toBe(true);
  await expectAccessible(page, 'the Account page with a passkey');

  // passwordless: no username typed, the discoverable credential names the account
  await signedOut(context, page);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page).not.toHaveURL(/\/login/);
  await page.goto(`${origin()}/account`);
  await expect(page.getByText(`Signed in as ${owner.email}`)).toBeVisible();
  await expect(section.getByTestId('passkey')).not.toContainText('Last used never');

  // second factor: the password step now asks for the passkey
  await signedOut(context, page);
  await page.getByLabel('Email or mailbox address').fill(owner.email);
  await page.getByLabel('Password', { exact: true }).fill(owner.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByText('Confirm it is you with one of your passkeys.')).toBeVisible();
  await expect(page).toHaveURL(/\/login/);
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await expect(page).not.toHaveURL(/\/login/);

  // rename, then remove
  await page.goto(`${origin()}/account`);
  await section.getByRole('button', { name: 'Rename Laptop' }).click();
  await section.getByLabel('New name').fill('Work laptop');
  await section.getByRole('button', { name: 'Save' }).click();
  await expect(section.getByTestId('passkey')).toContainText('Work laptop');
  await section.getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Remove passkey' }).click();
  await expect(section.getByText('No passkeys yet')).toBeVisible();

  // the authenticator still holds the credential, but the server no longer accepts it; the password alone signs in
  await signedOut(context, page);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByText('That passkey was not accepted. Use another one, or your password.')).toBeVisible();
  await page.getByLabel('Email or mailbox address').fill(owner.email);
  await page.getByLabel('Password', { exact: true }).fill(owner.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).not.toHaveURL(/\/login/);
});
