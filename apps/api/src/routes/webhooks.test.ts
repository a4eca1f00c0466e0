import { decryptWebhookSecret } from '@mailroom/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createKey, createTestApp, createUser, login, type TestContext, uniqueName } from '../testing.ts';

let t: TestContext;
let open: TestContext;
beforeAll(async () => {
  t = await createTestApp();
  open = await createTestApp({ webhookAllowPrivate: true });
});
afterAll(async () => {
  await t?.close();
  await open?.close();
});

async function user(role: 'OWNER' | 'ADMIN' = 'OWNER') {
  const u = await createUser(t, { role });
  return { ...u, s: await login(t.app, u.email, u.password) };
}

const PUBLIC_URL = 'https://203.0.113.10/hooks/mailroom';

async function register(s: Parameters<typeof call>[1], body: Record<string, unknown> = {}) {
  const res = await call(t.app, s, 'POST', '/api/v1/webhooks', {
    url: PUBLIC_URL,
    eventTypes: ['mailbox.created', 'domain.created'],
    ...body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

describe('webhook endpoints', () => {
  test('register shows a whsec_ secret once; it is stored encrypted with the server secret and never listed again', async () => {
    const o = await user();
    const created = await register(o.s, { description: 'billing' });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created).toMatchObject({ url: PUBLIC_URL, enabled: true, userId: o.id, description: 'billing' });
    const row = await t.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: created.id } });
    expect(JSON.stringify(row)).not.toContain(created.secret.slice(6));
    expect(decryptWebhookSecret(row.secretEncrypted, 'test-secret')).toBe(created.secret);
    expect(() => decryptWebhookSecret(row.secretEncrypted, 'another-server-secret')).toThrow();
    const listed = await call(t.app, o.s, 'GET', '/api/v1/webhooks');
    expect(listed.json().items.map((e: { id: string }) => e.id)).toEqual([created.id]);
    expect(listed.body).not.toContain(created.secret.slice(6));
    const got = await call(t.app, o.s, 'GET', `/api/v1/webhooks/${created.id}`);
    expect(got.json()).not.toHaveProperty('secret');
    const audit = await t.prisma.auditEvent.findFirstOrThrow({ where: { action: 'webhook.create', targetId: created.id } });
    expect(audit.ownerId).toBe(o.id);
    expect(JSON.stringify(audit.details)).not.toContain(created.secret.slice(6));
  });

  test('a supplied secret is kept; a malformed one, an unknown event type or a non-http URL is a 400', async () => {
    const o = await user();
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const created = await register(o.s, { secret });
    expect(created.secret).toBe(secret);
    for (const body of [
      { secret: 'whsec_short' },
      { secret: 'plain-secret-without-prefix-xxxxxxxxxxxxxxxxxxx' },
      { eventTypes: ['mailbox.exploded'] },
      { eventTypes: [] },
      { url: 'ftp://203.0.113.10/x' },
      { url: 'file:///etc/passwd' },
      { url: 'https://user:pw@203.0.113.10/' },
    ]) {
      const res = await call(t.app, o.s, 'POST', '/api/v1/webhooks', { url: PUBLIC_URL, eventTypes: ['mailbox.created'], ...body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }
  });

  test('SSRF: loopback, private, link-local/metadata, CGNAT, unspecified, multicast, ULA and IPv4-mapped targets are refused', async () => {
    const o = await user();
    const targets = [
      'http://127.0.0.1:8080/',
      'http://127.1.2.3/',
      'http://localhost:9/',
      'http://[::1]/',
      'http://10.0.0.5/',
      'http://172.16.3.4/',
      'http://192.168.1.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://100.64.0.1/',
      'http://0.0.0.0/',
      'http://224.0.0.1/',
      'http://[fe80::1]/',
      'http://[fd00::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:a9fe:a9fe]/',
      'http://2130706433/',
      'http://0x7f000001/',
    ];
    for (const url of targets) {
      const res = await call(t.app, o.s, 'POST', '/api/v1/webhooks', { url, eventTypes: ['domain.created'] });
      expect(res.statusCode, url).toBe(422);
      expect(res.json().code, url).toBe('WEBHOOK_URL_FORBIDDEN');
    }
    const ep = await register(o.s);
    const patched = await call(t.app, o.s, 'PATCH', `/api/v1/webhooks/${ep.id}`, { url: 'http://169.254.169.254/' });
    expect(patched.json().code).toBe('WEBHOOK_URL_FORBIDDEN');
    expect(await t.prisma.webhookEndpoint.count({ where: { userId: o.id } })).toBe(1);
    // the operator may allow internal receivers
    const other = await createUser(open);
    const s = await login(open.app, other.email, other.password);
    expect(
      (await call(open.app, s, 'POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:8080/', eventTypes: ['domain.created'] })).statusCode,
    ).toBe(201);
  });

  test("tenant isolation: another owner can neither see nor change nor redeliver an owner's endpoint; admins see all", async () => {
    const a = await user();
    const b = await user();
    const admin = await user('ADMIN');
    const ep = await register(a.s);
    const event = await t.prisma.webhookEvent.create({ data: { type: 'domain.created', ownerId: a.id, data: {} } });
    const delivery = await t.prisma.webhookDelivery.create({ data: { endpointId: ep.id, eventId: event.id } });
    const base = `/api/v1/webhooks/${ep.id}`;
    for (const [method, url, body] of [
      ['GET', base],
      ['PATCH', base, { enabled: false }],
      ['DELETE', base],
      ['GET', `${base}/deliveries`],
      ['POST', `${base}/deliveries/${delivery.id}/redeliver`],
    ] as const) {
      const res = await call(t.app, b.s, method, url, body);
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    expect((await call(t.app, b.s, 'GET', '/api/v1/webhooks')).json().items).toEqual([]);
    // b cannot redeliver its own endpoint's id combined with a's delivery either
    const own = await register(b.s);
    expect((await call(t.app, b.s, 'POST', `/api/v1/webhooks/${own.id}/deliveries/${delivery.id}/redeliver`)).statusCode).toBe(404);
    expect((await t.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: ep.id } })).enabled).toBe(true);
    const all = (await call(t.app, admin.s, 'GET', `/api/v1/webhooks?userId=${a.id}`)).json().items;
    expect(all.map((e: { id: string }) => e.id)).toEqual([ep.id]);
    expect((await call(t.app, admin.s, 'GET', `${base}/deliveries`)).statusCode).toBe(200);
  });

  test('API keys: webhooks:* scopes are required, and a domain-restricted key cannot manage webhooks', async () => {
    const o = await user();
    const domain = await call(t.app, o.s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` });
    const noScope = await createKey(t.prisma, o.id, ['domains:write']);
    expect((await call(t.app, { key: noScope }, 'GET', '/api/v1/webhooks')).statusCode).toBe(403);
    const readOnly = await createKey(t.prisma, o.id, ['webhooks:read']);
    expect((await call(t.app, { key: readOnly }, 'GET', '/api/v1/webhooks')).statusCode).toBe(200);
    expect(
      (await call(t.app, { key: readOnly }, 'POST', '/api/v1/webhooks', { url: PUBLIC_URL, eventTypes: ['domain.created'] })).statusCode,
    ).toBe(403);
    const restricted = await createKey(t.prisma, o.id, ['webhooks:write'], [domain.json().id]);
    const res = await call(t.app, { key: restricted }, 'POST', '/api/v1/webhooks', { url: PUBLIC_URL, eventTypes: ['domain.created'] });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('FORBIDDEN');
    const full = await createKey(t.prisma, o.id, ['webhooks:write']);
    expect(
      (await call(t.app, { key: full }, 'POST', '/api/v1/webhooks', { url: PUBLIC_URL, eventTypes: ['domain.created'] })).statusCode,
    ).toBe(201);
  });

  test('deliveries list their attempts with response codes; redelivery is queued; a disabled endpoint refuses it until enabled', async () => {
    const o = await user();
    const ep = await register(o.s);
    const event = await t.prisma.webhookEvent.create({ data: { type: 'mailbox.created', ownerId: o.id, data: {} } });
    const d = await t.prisma.webhookDelivery.create({
      data: { endpointId: ep.id, eventId: event.id, status: 'failed', attemptCount: 2, lastStatusCode: 500 },
    });
    await t.prisma.webhookAttempt.create({ data: { deliveryId: d.id, durationMs: 12, statusCode: 500, responseBody: 'oops' } });
    await t.prisma.webhookAttempt.create({
      data: { deliveryId: d.id, durationMs: 9, statusCode: null, error: 'timed out after 10000 ms' },
    });
    const list = await call(t.app, o.s, 'GET', `/api/v1/webhooks/${ep.id}/deliveries?status=failed`);
    expect(list.statusCode).toBe(200);
    const item = list.json().items[0];
    expect(item).toMatchObject({ id: d.id, eventId: event.id, eventType: 'mailbox.created', status: 'failed', lastStatusCode: 500 });
    expect(item.attempts.map((a: { statusCode: number | null }) => a.statusCode)).toEqual([null, 500]);
    const re = await call(t.app, o.s, 'POST', `/api/v1/webhooks/${ep.id}/deliveries/${d.id}/redeliver`);
    expect(re.statusCode).toBe(202);
    expect(re.json()).toMatchObject({ status: 'pending' });
    expect(re.json().redeliverRequestedAt).not.toBeNull();
    expect((await call(t.app, o.s, 'PATCH', `/api/v1/webhooks/${ep.id}`, { enabled: false })).json()).toMatchObject({
      enabled: false,
      disabledReason: 'manual',
    });
    const refused = await call(t.app, o.s, 'POST', `/api/v1/webhooks/${ep.id}/deliveries/${d.id}/redeliver`);
    expect(refused.statusCode).toBe(409);
    await t.prisma.webhookEndpoint.update({
      where: { id: ep.id },
      data: { disabledReason: 'failing', consecutiveFailures: 40, failingSince: new Date() },
    });
    const enabled = (await call(t.app, o.s, 'PATCH', `/api/v1/webhooks/${ep.id}`, { enabled: true })).json();
    expect(enabled).toMatchObject({ enabled: true, disabledReason: null, consecutiveFailures: 0, failingSince: null });
    expect((await call(t.app, o.s, 'DELETE', `/api/v1/webhooks/${ep.id}`)).statusCode).toBe(204);
    expect(await t.prisma.webhookDelivery.count({ where: { id: d.id } })).toBe(0);
  });

  test('outbox: a committed change through the API writes its event in the same transaction as its audit entry', async () => {
    const o = await user();
    const res = await call(t.app, o.s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` });
    expect(res.statusCode).toBe(201);
    const events = await t.prisma.webhookEvent.findMany({ where: { ownerId: o.id } });
    expect(events.map((e) => e.type)).toEqual(['domain.created']);
    expect(events[0]!.domainId).toBe(res.json().id);
    expect(events[0]!.data).toMatchObject({ domainId: res.json().id, name: res.json().name, ownerId: o.id });
  });

  test('outbox: force-deleting an owner tells administrators about each of its domains', async () => {
    const o = await user();
    const admin = await user('ADMIN');
    const d = (await call(t.app, o.s, 'POST', '/api/v1/domains', { name: `${uniqueName('d')}.example` })).json();
    expect((await call(t.app, admin.s, 'DELETE', `/api/v1/owners/${o.id}?force=true`)).statusCode).toBe(204);
    const deleted = await t.prisma.webhookEvent.findMany({ where: { ownerId: o.id, type: 'domain.deleted' } });
    expect(deleted.map((e) => e.domainId)).toEqual([d.id]);
    expect(deleted[0]!.data).toMatchObject({ reason: 'owner_deleted', name: d.name });
  });
});
