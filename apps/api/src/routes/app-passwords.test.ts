import { authenticateMailbox } from '@mailroom/core';
import { createPrismaClientWithPool, type PrismaClient } from '@mailroom/db';
import { testDatabaseUrl } from '@mailroom/db/testing';
import { loginOnce, ownNetwork, startServer, testStore, type TestServer } from '@mailroom/pop3/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createKey, createTestAppWithAdmin, createUser, login, type Session, type TestContext, uniqueName } from '../testing.ts';

let t: TestContext;
let admin: Session;
beforeAll(async () => ({ t, admin } = await createTestAppWithAdmin()));
afterAll(async () => t?.close());

const PW = 'mailbox passphrase 1';

async function ownerWithMailbox(on: { t: TestContext; admin: Session } = { t, admin }) {
  const o = await createUser(on.t);
  const s = await login(on.t.app, o.email, o.password);
  const d = await call(on.t.app, on.admin, 'POST', '/api/v1/domains', {
    name: `${uniqueName('d')}.example`,
    ownerId: o.id,
    verified: true,
  });
  expect(d.statusCode, d.body).toBe(201);
  const m = await call(on.t.app, s, 'POST', `/api/v1/domains/${d.json().id}/mailboxes`, { localPart: 'anna', password: PW });
  expect(m.statusCode, m.body).toBe(201);
  return { owner: o, s, domainId: d.json().id as string, mailbox: m.json() as { id: string; address: string } };
}

const base = (mailboxId: string) => `/api/v1/mailboxes/${mailboxId}/app-passwords`;
const pop3 = (address: string, password: string) => authenticateMailbox(t.prisma, t.hasher, address, password, { service: 'pop3' });

describe('app passwords', () => {
  test('create shows the password once (grouped letters), stores only an argon2id hash, lists name/selector/last use, audits', async () => {
    const { s, mailbox } = await ownerWithMailbox();
    const res = await call(t.app, s, 'POST', base(mailbox.id), { name: 'phone' });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json();
    expect(created.password).toMatch(/^[a-z]{4}(-[a-z]{4}){5}$/);
    expect(created).toMatchObject({
      name: 'phone',
      mailboxId: mailbox.id,
      selector: created.password.slice(0, 4),
      lastUsedAt: null,
      lastUsedIp: null,
    });
    const row = await t.prisma.mailboxAppPassword.findUniqueOrThrow({ where: { id: created.id } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    const listed = await call(t.app, s, 'GET', base(mailbox.id));
    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toMatchObject({ items: [{ id: created.id, name: 'phone' }], requiredForPop3: null, domainRequiredForPop3: null });
    expect(listed.body).not.toContain(created.password.slice(5));
    // POP3 accepts it (typed in upper case with spaces, too); the panel sign-in does not.
    const ok = await pop3(mailbox.address, created.password.toUpperCase().replace(/-/g, ' '));
    expect(ok).toMatchObject({ status: 'ok', mailbox: { id: mailbox.id, appPasswordId: created.id } });
    expect(await authenticateMailbox(t.prisma, t.hasher, mailbox.address, created.password)).toEqual({
      status: 'invalid',
      mailboxId: mailbox.id,
    });
    const dup = await call(t.app, s, 'POST', base(mailbox.id), { name: 'phone' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('ALREADY_EXISTS');
    const audit = await t.prisma.auditEvent.findMany({ where: { targetId: mailbox.id, action: 'mailbox.app-password.create' } });
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toMatchObject({ name: 'phone', credentialId: created.id, selector: created.selector });
    expect(JSON.stringify(audit[0]!.details)).not.toContain(created.password.slice(5));
  });

  test('revoking one leaves the other working; the main password works for POP3 until app passwords are required', async () => {
    const { s, mailbox } = await ownerWithMailbox();
    const phone = (await call(t.app, s, 'POST', base(mailbox.id), { name: 'phone' })).json();
    const laptop = (await call(t.app, s, 'POST', base(mailbox.id), { name: 'laptop' })).json();
    expect((await pop3(mailbox.address, phone.password)).status).toBe('ok');
    expect((await pop3(mailbox.address, laptop.password)).status).toBe('ok');
    expect((await pop3(mailbox.address, PW)).status).toBe('ok');
    expect((await call(t.app, s, 'DELETE', `${base(mailbox.id)}/${phone.id}`)).statusCode).toBe(204);
    expect(await pop3(mailbox.address, phone.password)).toEqual({ status: 'invalid', mailboxId: mailbox.id });
    expect((await pop3(mailbox.address, laptop.password)).status).toBe('ok');
    expect((await call(t.app, s, 'DELETE', `${base(mailbox.id)}/${phone.id}`)).statusCode).toBe(404);
    const policy = await call(t.app, s, 'PUT', `/api/v1/mailboxes/${mailbox.id}/app-password-policy`, { requiredForPop3: true });
    expect(policy.statusCode, policy.body).toBe(200);
    expect(policy.json().requiredForPop3).toBe(true);
    expect(await pop3(mailbox.address, PW)).toEqual({ status: 'app-password-required', mailboxId: mailbox.id });
    expect((await pop3(mailbox.address, laptop.password)).status).toBe('ok');
    // The main password still signs in to self-service.
    await login(t.app, mailbox.address, PW);
    const actions = (await t.prisma.auditEvent.findMany({ where: { targetId: mailbox.id }, orderBy: { createdAt: 'asc' } })).map(
      (e) => e.action,
    );
    expect(actions).toEqual(expect.arrayContaining(['mailbox.app-password.revoke', 'mailbox.app-password.policy']));
  });

  test('the domain policy applies to its mailboxes; a mailbox cannot opt out of a domain that requires app passwords', async () => {
    const { s, domainId, mailbox } = await ownerWithMailbox();
    const res = await call(t.app, s, 'PUT', `/api/v1/domains/${domainId}/app-password-policy`, { requiredForPop3: true });
    expect(res.statusCode, res.body).toBe(200);
    expect(await pop3(mailbox.address, PW)).toEqual({ status: 'app-password-required', mailboxId: mailbox.id });
    await call(t.app, s, 'PUT', `/api/v1/mailboxes/${mailbox.id}/app-password-policy`, { requiredForPop3: false });
    expect(await pop3(mailbox.address, PW)).toEqual({ status: 'app-password-required', mailboxId: mailbox.id });
    await call(t.app, s, 'PUT', `/api/v1/domains/${domainId}/app-password-policy`, { requiredForPop3: null });
    // The operator default applies only when neither says anything; the mailbox's explicit false wins over it.
    expect(
      (await authenticateMailbox(t.prisma, t.hasher, mailbox.address, PW, { service: 'pop3', requireAppPasswordsDefault: true })).status,
    ).toBe('ok');
    await call(t.app, s, 'PUT', `/api/v1/mailboxes/${mailbox.id}/app-password-policy`, { requiredForPop3: null });
    expect(
      await authenticateMailbox(t.prisma, t.hasher, mailbox.address, PW, { service: 'pop3', requireAppPasswordsDefault: true }),
    ).toEqual({ status: 'app-password-required', mailboxId: mailbox.id });
  });

  test('the mailbox user manages their own app passwords through self-service', async () => {
    const { mailbox } = await ownerWithMailbox();
    const me = await login(t.app, mailbox.address, PW);
    const created = await call(t.app, me, 'POST', base(mailbox.id), { name: 'tablet' });
    expect(created.statusCode, created.body).toBe(201);
    expect((await call(t.app, me, 'GET', base(mailbox.id))).json().items).toHaveLength(1);
    expect((await call(t.app, me, 'DELETE', `${base(mailbox.id)}/${created.json().id}`)).statusCode).toBe(204);
    const audit = await t.prisma.auditEvent.findFirstOrThrow({ where: { targetId: mailbox.id, action: 'mailbox.app-password.revoke' } });
    expect(audit).toMatchObject({ actorType: 'mailbox', actorId: mailbox.id });
  });
});

describe('app passwords: abuse', () => {
  test("another tenant, another mailbox's user and a domain-restricted key get 404 for a mailbox they cannot see", async () => {
    const a = await ownerWithMailbox();
    const b = await ownerWithMailbox();
    const secret = (await call(t.app, a.s, 'POST', base(a.mailbox.id), { name: 'phone' })).json();
    const bUser = await login(t.app, b.mailbox.address, PW);
    const bKey = { key: await createKey(t.prisma, b.owner.id, ['mailboxes:write'], [b.domainId]) };
    for (const creds of [b.s, bUser, bKey]) {
      expect((await call(t.app, creds, 'GET', base(a.mailbox.id))).statusCode).toBe(404);
      expect((await call(t.app, creds, 'POST', base(a.mailbox.id), { name: 'evil' })).statusCode).toBe(404);
      expect((await call(t.app, creds, 'DELETE', `${base(a.mailbox.id)}/${secret.id}`)).statusCode).toBe(404);
      // Their own mailbox id with A's app password id: still not found, and A's password keeps working.
      expect((await call(t.app, creds, 'DELETE', `${base(b.mailbox.id)}/${secret.id}`)).statusCode).toBe(404);
      expect(
        (await call(t.app, creds, 'PUT', `/api/v1/mailboxes/${a.mailbox.id}/app-password-policy`, { requiredForPop3: true })).statusCode,
      ).toBe(404);
    }
    expect((await call(t.app, b.s, 'PUT', `/api/v1/domains/${a.domainId}/app-password-policy`, { requiredForPop3: true })).statusCode).toBe(
      404,
    );
    expect((await pop3(a.mailbox.address, secret.password)).status).toBe('ok');
    expect(await t.prisma.mailboxAppPassword.count({ where: { mailboxId: a.mailbox.id } })).toBe(1);
  });

  test('a read-only key cannot create; a malformed name is 400; at most 20 per mailbox (409 CONFLICT)', async () => {
    const { owner, s, mailbox } = await ownerWithMailbox();
    const read = { key: await createKey(t.prisma, owner.id, ['mailboxes:read']) };
    expect((await call(t.app, read, 'POST', base(mailbox.id), { name: 'x' })).statusCode).toBe(403);
    expect((await call(t.app, read, 'GET', base(mailbox.id))).statusCode).toBe(200);
    for (const name of ['', '   ', 'x'.repeat(65)]) expect((await call(t.app, s, 'POST', base(mailbox.id), { name })).statusCode).toBe(400);
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => call(t.app, s, 'POST', base(mailbox.id), { name: `d${i}` })));
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(20);
    expect(results.filter((r) => r.statusCode === 409).every((r) => r.json().code === 'CONFLICT')).toBe(true);
    expect(await t.prisma.mailboxAppPassword.count({ where: { mailboxId: mailbox.id } })).toBe(20);
  });
});

describe('app-password policy: a mailbox user can tighten it, never loosen it (real POP3 logins)', () => {
  const APP_ONLY = '-ERR [AUTH] This mailbox accepts only app passwords for POP3: create one in the Mailroom panel.';
  const LOGGED_IN = '+OK Logged in.';
  let pop3Prisma: PrismaClient;
  /** A POP3 server as deployed by default (POP3_REQUIRE_APP_PASSWORDS=false). */
  let pop3: TestServer;
  /** A POP3 server and an API both run with POP3_REQUIRE_APP_PASSWORDS=true. */
  let strictPop3: TestServer;
  let strict: { t: TestContext; admin: Session };
  beforeAll(async () => {
    pop3Prisma = createPrismaClientWithPool(testDatabaseUrl(), { maxConnections: 4, applicationName: 'app-passwords-test-pop3' }).prisma;
    pop3 = await startServer(pop3Prisma);
    strictPop3 = await startServer(pop3Prisma, {}, { store: testStore(pop3Prisma, { requireAppPasswords: true }) });
    strict = await createTestAppWithAdmin({ requireAppPasswordsDefault: true });
  });
  afterAll(async () => {
    await pop3?.close();
    await strictPop3?.close();
    await pop3Prisma?.$disconnect();
    await strict?.t.close();
  });

  /** USER/PASS over a real socket, from a client network of its own (no throttle shared with other tests). */
  const popLogin = (srv: TestServer, address: string, password: string) => loginOnce(srv.port, address, password, ownNetwork());
  const policyPath = (mailboxId: string) => `/api/v1/mailboxes/${mailboxId}/app-password-policy`;
  const columns = (mailboxId: string) =>
    t.prisma.mailbox.findUniqueOrThrow({
      where: { id: mailboxId },
      select: { pop3AppPasswordsRequired: true, pop3AppPasswordsUserRequired: true },
    });

  test("the owner requires app passwords: the mailbox user's false or null leaves the owner's true, and POP3 still refuses the main password", async () => {
    const { s, mailbox } = await ownerWithMailbox();
    const phone = (await call(t.app, s, 'POST', base(mailbox.id), { name: 'phone' })).json();
    const set = await call(t.app, s, 'PUT', policyPath(mailbox.id), { requiredForPop3: true });
    expect(set.statusCode, set.body).toBe(200);
    expect(await popLogin(pop3, mailbox.address, PW)).toBe(APP_ONLY);

    const me = await login(t.app, mailbox.address, PW);
    for (const requiredForPop3 of [false, null]) {
      const res = await call(t.app, me, 'PUT', policyPath(mailbox.id), { requiredForPop3 });
      expect(res.statusCode, res.body).toBe(200);
      expect(await popLogin(pop3, mailbox.address, PW), `after the mailbox user's ${requiredForPop3}`).toBe(APP_ONLY);
      expect(await popLogin(pop3, mailbox.address, phone.password)).toBe(LOGGED_IN);
      expect(res.json()).toMatchObject({
        requiredForPop3: true,
        userRequiredForPop3: false,
        enforcedForPop3: true,
        effectiveRequiredForPop3: true,
      });
      expect(await columns(mailbox.id)).toEqual({ pop3AppPasswordsRequired: true, pop3AppPasswordsUserRequired: false });
    }
    // The owner sees the same policy; the mailbox user's attempts are audited as their own setting.
    expect((await call(t.app, s, 'GET', base(mailbox.id))).json()).toMatchObject({ requiredForPop3: true, effectiveRequiredForPop3: true });
    const audit = await t.prisma.auditEvent.findMany({
      where: { targetId: mailbox.id, action: 'mailbox.app-password.policy', actorType: 'mailbox' },
    });
    expect(audit).toHaveLength(2);
    for (const e of audit) expect(e.details).toMatchObject({ setting: 'mailbox-user', userRequiredForPop3: false });
  });

  test("the operator requires app passwords (POP3_REQUIRE_APP_PASSWORDS): the mailbox user's false does not lift it; the owner's does", async () => {
    const { s, mailbox } = await ownerWithMailbox(strict);
    expect(await popLogin(strictPop3, mailbox.address, PW)).toBe(APP_ONLY);
    const me = await login(strict.t.app, mailbox.address, PW);
    const listed = await call(strict.t.app, me, 'GET', base(mailbox.id));
    expect(listed.json()).toMatchObject({ requiredForPop3: null, operatorRequiredForPop3: true, effectiveRequiredForPop3: true });

    const res = await call(strict.t.app, me, 'PUT', policyPath(mailbox.id), { requiredForPop3: false });
    expect(res.statusCode, res.body).toBe(200);
    expect(await popLogin(strictPop3, mailbox.address, PW)).toBe(APP_ONLY);
    expect(res.json()).toMatchObject({
      requiredForPop3: null,
      operatorRequiredForPop3: true,
      userRequiredForPop3: false,
      enforcedForPop3: true,
      effectiveRequiredForPop3: true,
    });
    expect(await columns(mailbox.id)).toEqual({ pop3AppPasswordsRequired: null, pop3AppPasswordsUserRequired: false });

    // Allowing the main password stays the owner's decision.
    const owner = await call(strict.t.app, s, 'PUT', policyPath(mailbox.id), { requiredForPop3: false });
    expect(owner.json()).toMatchObject({ requiredForPop3: false, enforcedForPop3: false, effectiveRequiredForPop3: false });
    expect(await popLogin(strictPop3, mailbox.address, PW)).toBe(LOGGED_IN);
  });

  test('the mailbox user opts in: POP3 refuses the main password and takes app passwords; the owner cannot lift it; withdrawn, the main password works again', async () => {
    const { s, mailbox } = await ownerWithMailbox();
    const me = await login(t.app, mailbox.address, PW);
    const tablet = (await call(t.app, me, 'POST', base(mailbox.id), { name: 'tablet' })).json();
    expect(await popLogin(pop3, mailbox.address, PW)).toBe(LOGGED_IN);

    for (const withdraw of [false, null]) {
      const on = await call(t.app, me, 'PUT', policyPath(mailbox.id), { requiredForPop3: true });
      expect(on.statusCode, on.body).toBe(200);
      expect(await popLogin(pop3, mailbox.address, PW)).toBe(APP_ONLY);
      expect(await popLogin(pop3, mailbox.address, tablet.password)).toBe(LOGGED_IN);
      expect(on.json()).toMatchObject({
        requiredForPop3: null,
        userRequiredForPop3: true,
        enforcedForPop3: false,
        effectiveRequiredForPop3: true,
      });
      expect(await columns(mailbox.id)).toEqual({ pop3AppPasswordsRequired: null, pop3AppPasswordsUserRequired: true });
      // The main password still signs in to self-service.
      await login(t.app, mailbox.address, PW);

      const off = await call(t.app, me, 'PUT', policyPath(mailbox.id), { requiredForPop3: withdraw });
      expect(off.json()).toMatchObject({ userRequiredForPop3: false, effectiveRequiredForPop3: false });
      expect(await popLogin(pop3, mailbox.address, PW), `withdrawn with ${withdraw}`).toBe(LOGGED_IN);
    }

    // The owner sees the opt-in, and an explicit "allowed" of theirs does not override it.
    await call(t.app, me, 'PUT', policyPath(mailbox.id), { requiredForPop3: true });
    const owner = await call(t.app, s, 'PUT', policyPath(mailbox.id), { requiredForPop3: false });
    expect(owner.json()).toMatchObject({ requiredForPop3: false, userRequiredForPop3: true, effectiveRequiredForPop3: true });
    expect(await popLogin(pop3, mailbox.address, PW)).toBe(APP_ONLY);
    expect(await columns(mailbox.id)).toEqual({ pop3AppPasswordsRequired: false, pop3AppPasswordsUserRequired: true });
  });
});
