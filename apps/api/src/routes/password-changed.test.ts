// passwordChangedAt on owners, the signed-in user and mailboxes: set at creation and by every way a password is set
// (its user, an admin, the owner, a bulk reset), never by other edits nor by a sign-in that re-hashes the password.
// The panel's "someone knows your password" warning ends at it (e2e journey-account-sign-ins).
import argon2 from 'argon2';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createKey, createTestApp, createUser, login, type TestContext, uniqueName } from '../testing.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

let ipSeq = 0;
const ip = () => `198.18.20.${++ipSeq}`;

/** Waits until the clock has moved past `iso`, so that a later stamp is strictly later. */
async function after(iso: string | null): Promise<void> {
  const at = iso ? Date.parse(iso) : 0;
  while (Date.now() <= at + 2) await new Promise((r) => setTimeout(r, 5));
}

describe('passwordChangedAt', () => {
  test('owners: set at creation, moved by their own change and an admin reset, not by other edits or a re-hash at sign-in', async () => {
    const admin = await createUser(t, { role: 'ADMIN' });
    const key = { key: await createKey(t.prisma, admin.id, ['owners:write']) };
    const created = await call(t.app, key, 'POST', '/api/v1/owners', {
      email: `${uniqueName('pc')}@example.com`,
      password: 'first passphrase 123',
    });
    expect(created.statusCode, created.body).toBe(201);
    const owner = created.json();
    expect(Date.parse(owner.passwordChangedAt)).toBeGreaterThan(Date.now() - 60_000);

    await after(owner.passwordChangedAt);
    const renamed = (await call(t.app, key, 'PATCH', `/api/v1/owners/${owner.id}`, { displayName: 'Renamed', maxDomains: 5 })).json();
    expect(renamed.passwordChangedAt).toBe(owner.passwordChangedAt);

    const s = await login(t.app, owner.email, 'first passphrase 123', ip());
    const me = (await call(t.app, s, 'GET', '/api/v1/me')).json();
    expect(me.user.passwordChangedAt).toBe(owner.passwordChangedAt);
    expect(
      (
        await call(t.app, s, 'PUT', '/api/v1/me/password', {
          currentPassword: 'first passphrase 123',
          newPassword: 'second passphrase 456',
        })
      ).statusCode,
    ).toBe(204);
    const changed = (await call(t.app, s, 'GET', '/api/v1/me')).json().user.passwordChangedAt;
    expect(Date.parse(changed)).toBeGreaterThan(Date.parse(owner.passwordChangedAt));

    await after(changed);
    const reset = (await call(t.app, key, 'PATCH', `/api/v1/owners/${owner.id}`, { password: 'third passphrase 789' })).json();
    expect(Date.parse(reset.passwordChangedAt)).toBeGreaterThan(Date.parse(changed));

    // A hash with other parameters is re-hashed at the next sign-in: not a change of password (an attacker who knows
    // the password must not end the warning by signing in with it).
    const old = await argon2.hash('third passphrase 789', { type: argon2.argon2id, memoryCost: 8192, timeCost: 1, parallelism: 1 });
    await t.prisma.user.update({ where: { id: owner.id }, data: { passwordHash: old } });
    await after(reset.passwordChangedAt);
    await login(t.app, owner.email, 'third passphrase 789', ip());
    const row = await t.prisma.user.findUniqueOrThrow({ where: { id: owner.id } });
    expect(row.passwordHash).not.toBe(old); // re-hashed
    expect(row.passwordChangedAt?.toISOString()).toBe(reset.passwordChangedAt);
  });

  test('mailboxes: set at creation, moved by the owner, the mailbox user and a bulk reset, not by other edits; listed too', async () => {
    const owner = await createUser(t);
    const s = await login(t.app, owner.email, owner.password, ip());
    const domain = await t.prisma.domain.create({
      data: { name: `${uniqueName('pcm')}.example`, ownerId: owner.id, verifiedAt: new Date() },
    });
    const created = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, {
      localPart: 'pat',
      password: 'mailbox passphrase 1',
    });
    expect(created.statusCode, created.body).toBe(201);
    const mb = created.json();
    expect(Date.parse(mb.passwordChangedAt)).toBeGreaterThan(Date.now() - 60_000);
    const stamp = async () => (await call(t.app, s, 'GET', `/api/v1/mailboxes/${mb.id}`)).json().passwordChangedAt as string;

    await after(mb.passwordChangedAt);
    expect((await call(t.app, s, 'PATCH', `/api/v1/mailboxes/${mb.id}`, { displayName: 'Pat', quotaBytes: 10_000_000 })).statusCode).toBe(
      200,
    );
    expect(await stamp()).toBe(mb.passwordChangedAt);
    const listed = (await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}/mailboxes`)).json().items;
    expect(listed.find((m: { id: string }) => m.id === mb.id).passwordChangedAt).toBe(mb.passwordChangedAt);

    expect((await call(t.app, s, 'PUT', `/api/v1/mailboxes/${mb.id}/password`, { password: 'mailbox passphrase 2' })).statusCode).toBe(204);
    const byOwner = await stamp();
    expect(Date.parse(byOwner)).toBeGreaterThan(Date.parse(mb.passwordChangedAt));

    await after(byOwner);
    const user = await login(t.app, mb.address, 'mailbox passphrase 2', ip());
    expect((await call(t.app, user, 'GET', '/api/v1/me')).json().mailbox.passwordChangedAt).toBe(byOwner);
    expect(
      (
        await call(t.app, user, 'PUT', '/api/v1/me/password', {
          currentPassword: 'mailbox passphrase 2',
          newPassword: 'mailbox passphrase 3',
        })
      ).statusCode,
    ).toBe(204);
    const byUser = await stamp();
    expect(Date.parse(byUser)).toBeGreaterThan(Date.parse(byOwner));

    await after(byUser);
    const bulk = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes/bulk`, {
      action: 'resetPassword',
      selection: { ids: [mb.id] },
    });
    expect(bulk.statusCode, bulk.body).toBe(200);
    expect(Date.parse(await stamp())).toBeGreaterThan(Date.parse(byUser));
  });
});
