// Per-domain and per-mailbox POP3 policy (RFC 2449 LOGIN-DELAY, EXPIRE) through the API, with its abuse cases.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createKey, createTestAppWithAdmin, createUser, login, type Session, type TestContext, uniqueName } from '../testing.ts';

let t: TestContext;
let admin: Session;
beforeAll(async () => ({ t, admin } = await createTestAppWithAdmin()));
afterAll(async () => t?.close());

const PW = 'mailbox passphrase 1';

async function tenant() {
  const o = await createUser(t);
  const s = await login(t.app, o.email, o.password);
  const d = await call(t.app, admin, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example`, ownerId: o.id, verified: true });
  expect(d.statusCode, d.body).toBe(201);
  const domain = d.json() as { id: string; name: string };
  const m = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: 'pop', password: PW });
  expect(m.statusCode, m.body).toBe(201);
  return { owner: o, s, domain, mailbox: m.json() as { id: string } };
}

/** Values no policy field accepts, as JSON bodies carry them. */
const BAD_VALUES: unknown[] = [-1, 1.5, 1e12, '7', 'NEVER', 'forever', true, {}, [], Number.MAX_SAFE_INTEGER + 2];

describe('per-mailbox POP3 policy', () => {
  test('create and update carry loginDelaySeconds and retentionDays (0 = EXPIRE 0; null = inherit), stored and listed', async () => {
    const { s, domain } = await tenant();
    const res = await call(t.app, s, 'POST', `/api/v1/domains/${domain.id}/mailboxes`, {
      localPart: 'phone',
      password: PW,
      loginDelaySeconds: 900,
      retentionDays: 0,
    });
    expect(res.statusCode, res.body).toBe(201);
    const m = res.json();
    expect(m).toMatchObject({ loginDelaySeconds: 900, retentionDays: 0 });
    const row = await t.prisma.mailbox.findUniqueOrThrow({ where: { id: m.id } });
    expect([row.loginDelaySeconds, row.retentionDays]).toEqual([900, 0]);

    const upd = await call(t.app, s, 'PATCH', `/api/v1/mailboxes/${m.id}`, { retentionDays: 30, loginDelaySeconds: null });
    expect(upd.statusCode, upd.body).toBe(200);
    expect(upd.json()).toMatchObject({ loginDelaySeconds: null, retentionDays: 30 });
    // a PATCH of something else leaves the policy alone
    expect((await call(t.app, s, 'PATCH', `/api/v1/mailboxes/${m.id}`, { displayName: 'Phone' })).json()).toMatchObject({
      loginDelaySeconds: null,
      retentionDays: 30,
    });
    const listed = (await call(t.app, s, 'GET', `/api/v1/domains/${domain.id}/mailboxes?q=phone`)).json().items;
    expect(listed).toEqual([expect.objectContaining({ id: m.id, loginDelaySeconds: null, retentionDays: 30 })]);
    expect((await call(t.app, s, 'GET', `/api/v1/mailboxes/${m.id}`)).json()).toMatchObject({ retentionDays: 30 });
    // "never" overrides an inherited retention (stored as a negative number, returned as "never")
    const never = await call(t.app, s, 'PATCH', `/api/v1/mailboxes/${m.id}`, { retentionDays: 'never' });
    expect(never.json()).toMatchObject({ retentionDays: 'never' });
    expect((await t.prisma.mailbox.findUniqueOrThrow({ where: { id: m.id } })).retentionDays).toBeLessThan(0);
    expect((await call(t.app, s, 'PATCH', `/api/v1/domains/${domain.id}`, { retentionDays: 'never' })).json()).toMatchObject({
      retentionDays: 'never',
    });
    const audit = await t.prisma.auditEvent.findFirst({
      where: { targetId: m.id, action: 'mailbox.update' },
      orderBy: { createdAt: 'desc' },
    });
    expect(audit).not.toBeNull();
  });

  test('largest values are accepted, one more is 400 VALIDATION_FAILED on the field', async () => {
    const { s, mailbox } = await tenant();
    expect(
      (await call(t.app, s, 'PATCH', `/api/v1/mailboxes/${mailbox.id}`, { loginDelaySeconds: 86_400, retentionDays: 36_500 })).statusCode,
    ).toBe(200);
    for (const [field, value] of [
      ['loginDelaySeconds', 86_401],
      ['retentionDays', 36_501],
    ] as const) {
      const r = await call(t.app, s, 'PATCH', `/api/v1/mailboxes/${mailbox.id}`, { [field]: value });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        errors: [expect.objectContaining({ path: expect.stringContaining(field) })],
      });
    }
  });

  test('abuse: negative, fractional, huge, string, boolean, object values → 400 VALIDATION_FAILED on mailbox and domain, nothing stored', async () => {
    const { s, domain, mailbox } = await tenant();
    for (const field of ['loginDelaySeconds', 'retentionDays']) {
      for (const value of BAD_VALUES) {
        const why = `${field}=${JSON.stringify(value)}`;
        const targets = [
          ['PATCH', `/api/v1/mailboxes/${mailbox.id}`, { [field]: value }],
          ['POST', `/api/v1/domains/${domain.id}/mailboxes`, { localPart: uniqueName('x').toLowerCase(), password: PW, [field]: value }],
          ['PATCH', `/api/v1/domains/${domain.id}`, { [field]: value }],
        ] as const;
        for (const [method, url, body] of targets) {
          const r = await call(t.app, s, method, url, body);
          expect(r.statusCode, `${method} ${url} ${why}`).toBe(400);
          expect(r.json().code, why).toBe('VALIDATION_FAILED');
        }
      }
    }
    const row = await t.prisma.mailbox.findUniqueOrThrow({ where: { id: mailbox.id } });
    expect([row.loginDelaySeconds, row.retentionDays]).toEqual([null, null]);
    expect(await t.prisma.mailbox.count({ where: { domainId: domain.id } })).toBe(1);
    const d = await t.prisma.domain.findUniqueOrThrow({ where: { id: domain.id } });
    expect([d.loginDelaySeconds, d.retentionDays]).toEqual([null, null]);
  });

  test("abuse: another tenant, a key restricted to another domain and a read-only key cannot change a mailbox's policy", async () => {
    const victim = await tenant();
    const attacker = await tenant();
    const other = await call(t.app, attacker.s, 'PATCH', `/api/v1/mailboxes/${victim.mailbox.id}`, { retentionDays: 0 });
    expect(other.statusCode).toBe(404);
    expect(other.json().code).toBe('NOT_FOUND');
    expect((await call(t.app, attacker.s, 'PATCH', `/api/v1/domains/${victim.domain.id}`, { retentionDays: 0 })).statusCode).toBe(404);

    // the victim's own key, restricted to another of the victim's domains
    const second = (
      await call(t.app, admin, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example`, ownerId: victim.owner.id, verified: true })
    ).json();
    const restricted = {
      key: await createKey(t.prisma, victim.owner.id, ['mailboxes:read', 'mailboxes:write', 'domains:read', 'domains:write'], [second.id]),
    };
    expect((await call(t.app, restricted, 'PATCH', `/api/v1/mailboxes/${victim.mailbox.id}`, { retentionDays: 0 })).statusCode).toBe(404);
    expect((await call(t.app, restricted, 'PATCH', `/api/v1/domains/${victim.domain.id}`, { retentionDays: 0 })).statusCode).toBe(404);
    const readOnly = { key: await createKey(t.prisma, victim.owner.id, ['mailboxes:read', 'domains:read']) };
    const ro = await call(t.app, readOnly, 'PATCH', `/api/v1/mailboxes/${victim.mailbox.id}`, { retentionDays: 0 });
    expect(ro.statusCode).toBe(403);

    const row = await t.prisma.mailbox.findUniqueOrThrow({ where: { id: victim.mailbox.id } });
    expect(row.retentionDays).toBeNull();
    expect((await t.prisma.domain.findUniqueOrThrow({ where: { id: victim.domain.id } })).retentionDays).toBeNull();
  });

  test('OpenAPI documents the policy fields of mailboxes and domains', async () => {
    const spec = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    const schemas = spec.components.schemas;
    expect(Object.keys(schemas.Mailbox.properties)).toEqual(expect.arrayContaining(['loginDelaySeconds', 'retentionDays']));
    expect(JSON.stringify(spec)).toMatch(/EXPIRE/);
  });
});
