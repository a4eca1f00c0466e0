// Test helpers for the API's vitest suites: a real app over the test database, users, sessions and keys.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createApiKey, createPasswordHasher, type PasswordHasher } from '@mailroom/core';
import { startDnsServer, type TestDnsServer, type TestZone } from '@mailroom/core/testing';
import type { ApiKeyScope } from '@mailroom/core/schemas';
import { createPrismaClient, type PrismaClient } from '@mailroom/db';
import { testDatabaseUrl, uniqueName } from '@mailroom/db/testing';
import { buildApp } from './app.ts';
import { defaultApiConfig, type ApiConfig } from './config.ts';

export const TEST_ARGON2 = { memoryKib: 1024, timeCost: 1, parallelism: 1 };
export const STRONG_PASSWORD = 'correct horse battery staple 42';

export interface TestContext {
  app: FastifyInstance;
  prisma: PrismaClient;
  hasher: PasswordHasher;
  close(): Promise<void>;
}

export async function createTestApp(config: Partial<ApiConfig> = {}, opts: { hasher?: PasswordHasher } = {}): Promise<TestContext> {
  const prisma = createPrismaClient(testDatabaseUrl(), { maxConnections: 4, applicationName: 'mailroom-api-test' });
  const hasher = opts.hasher ?? createPasswordHasher(TEST_ARGON2);
  const app = await buildApp({
    prisma,
    hasher,
    secret: 'test-secret',
    config: defaultApiConfig({ throttleSleepMaxMs: 0, argon2: TEST_ARGON2, ...config }),
  });
  await app.ready();
  return {
    app,
    prisma,
    hasher,
    async close() {
      await app.close();
      await prisma.$disconnect();
    },
  };
}

/** createTestApp plus a signed-in administrator: `beforeAll(async () => ({ t, admin } = await createTestAppWithAdmin()))`. */
export async function createTestAppWithAdmin(config: Partial<ApiConfig> = {}): Promise<{ t: TestContext; admin: Session }> {
  const t = await createTestApp(config);
  const a = await createUser(t, { role: 'ADMIN' });
  return { t, admin: await login(t.app, a.email, a.password) };
}

/** A test app whose DNS lookups ask a dnsmasq on loopback, with an admin's session (see createDnsTestApp). */
export interface DnsTestApp {
  t: TestContext;
  dns: TestDnsServer;
  admin: Session;
  /** Adds records to the zone (dnsmasq restarts with the whole zone). */
  publish(records: TestZone): Promise<void>;
  close(): Promise<void>;
}

/**
 * A test app with `onboarding` settings whose DNS checks go to a real DNS server (dnsmasq on loopback) answering for
 * `zones`, and an admin signed in. Tests using it skip without dnsmasq (`haveDnsmasq`).
 */
export async function createDnsTestApp(zones: string[], onboarding: Partial<ApiConfig['onboarding']> = {}): Promise<DnsTestApp> {
  const dns = await startDnsServer(zones);
  const zone: Required<TestZone> = { txt: [], mx: [], cname: [], srv: [], address: [] };
  const { t, admin } = await createTestAppWithAdmin({
    onboarding: { ...defaultApiConfig().onboarding, ...onboarding, dns: { servers: [dns.server], timeoutMs: 2_000 } },
  });
  return {
    t,
    dns,
    admin,
    async publish(records) {
      for (const k of ['txt', 'mx', 'cname', 'srv'] as const) (zone[k] as unknown[]).push(...(records[k] ?? []));
      await dns.setRecords(zone);
    },
    async close() {
      await t.close();
      await dns.close();
    },
  };
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
}

export async function createUser(
  t: Pick<TestContext, 'prisma' | 'hasher'>,
  opts: {
    role?: 'ADMIN' | 'OWNER';
    email?: string;
    password?: string;
    maxDomains?: number | null;
    maxMailboxes?: number | null;
    maxStorageBytes?: bigint | null;
    disabled?: boolean;
  } = {},
): Promise<TestUser> {
  const email = opts.email ?? `${uniqueName('u')}@example.com`;
  const password = opts.password ?? STRONG_PASSWORD;
  const user = await t.prisma.user.create({
    data: {
      email,
      passwordHash: await t.hasher.hash(password),
      role: opts.role ?? 'OWNER',
      maxDomains: opts.maxDomains ?? null,
      maxMailboxes: opts.maxMailboxes ?? null,
      maxStorageBytes: opts.maxStorageBytes ?? null,
      disabled: opts.disabled ?? false,
    },
  });
  return { id: user.id, email, password };
}

export interface Session {
  cookie: string;
  csrf: string;
}

export async function login(app: FastifyInstance, email: string, password: string, ip = '10.1.2.3'): Promise<Session> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password }, remoteAddress: ip });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  const set = res.cookies.find((c) => c.name === 'mailroom_session');
  if (!set) throw new Error('no session cookie');
  return { cookie: `mailroom_session=${set.value}`, csrf: res.json().csrfToken };
}

export async function createKey(prisma: PrismaClient, userId: string, scopes: ApiKeyScope[], domainIds: string[] = []): Promise<string> {
  const created = await createApiKey(prisma, { principal: { kind: 'system', label: 'test' } }, { userId, name: 'test', scopes, domainIds });
  return created.key;
}

/** Credentials for inject(): a session (with CSRF on unsafe methods) or an API key. */
export type Credentials = Session | { key: string } | null;

export function authHeaders(creds: Credentials, method = 'GET'): Record<string, string> {
  if (!creds) return {};
  if ('key' in creds) return { authorization: `Bearer ${creds.key}` };
  const h: Record<string, string> = { cookie: creds.cookie };
  if (method !== 'GET') h['x-csrf-token'] = creds.csrf;
  return h;
}

export async function call(
  app: FastifyInstance,
  creds: Credentials,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  payload?: unknown,
): Promise<LightMyRequestResponse> {
  return app.inject({ method, url, headers: authHeaders(creds, method), ...(payload !== undefined ? { payload: payload as object } : {}) });
}

/** Every route the issue asks for, as OpenAPI operations. */
export const EXPECTED_OPERATIONS = [
  'POST /api/v1/auth/login',
  'POST /api/v1/auth/logout',
  'GET /api/v1/me',
  'PUT /api/v1/me/password',
  'POST /api/v1/auth/login/second-factor',
  'POST /api/v1/auth/login/enrol/totp',
  'POST /api/v1/auth/login/enrol/totp/confirm',
  'GET /api/v1/me/2fa',
  'POST /api/v1/me/2fa/totp',
  'POST /api/v1/me/2fa/totp/confirm',
  'POST /api/v1/me/2fa/totp/disable',
  'POST /api/v1/me/2fa/recovery-codes',
  'DELETE /api/v1/users/{userId}/second-factors',
  'DELETE /api/v1/mailboxes/{mailboxId}/second-factors',
  'POST /api/v1/owners',
  'GET /api/v1/owners',
  'GET /api/v1/owners/{ownerId}',
  'PATCH /api/v1/owners/{ownerId}',
  'DELETE /api/v1/owners/{ownerId}',
  'POST /api/v1/domains',
  'GET /api/v1/domains',
  'GET /api/v1/domains/summary',
  'GET /api/v1/domains/{domainId}',
  'PATCH /api/v1/domains/{domainId}',
  'DELETE /api/v1/domains/{domainId}',
  'POST /api/v1/domains/{domainId}/verify',
  'GET /api/v1/domains/{domainId}/dns',
  'GET /api/v1/domains/{domainId}/mta-sts',
  'PUT /api/v1/domains/{domainId}/mta-sts',
  'POST /api/v1/domains/{domainId}/mailboxes',
  'GET /api/v1/domains/{domainId}/mailboxes',
  'GET /api/v1/mailboxes/{mailboxId}',
  'PATCH /api/v1/mailboxes/{mailboxId}',
  'DELETE /api/v1/mailboxes/{mailboxId}',
  'PUT /api/v1/mailboxes/{mailboxId}/password',
  'GET /api/v1/mailboxes/{mailboxId}/messages',
  'POST /api/v1/mailboxes/{mailboxId}/messages/delete',
  'DELETE /api/v1/mailboxes/{mailboxId}/messages',
  'GET /api/v1/mailboxes/{mailboxId}/messages/{messageId}/eml',
  'GET /api/v1/mailboxes/{mailboxId}/mbox',
  'POST /api/v1/mailboxes/{mailboxId}/mbox',
  'POST /api/v1/domains/{domainId}/mailboxes/import',
  'GET /api/v1/domains/{domainId}/mailboxes/export',
  'POST /api/v1/domains/{domainId}/mailboxes/bulk',
  'POST /api/v1/domains/{domainId}/aliases',
  'GET /api/v1/domains/{domainId}/aliases',
  'GET /api/v1/aliases/{aliasId}',
  'PATCH /api/v1/aliases/{aliasId}',
  'DELETE /api/v1/aliases/{aliasId}',
  'POST /api/v1/domains/{domainId}/sender-rules',
  'GET /api/v1/domains/{domainId}/sender-rules',
  'GET /api/v1/sender-rules/{ruleId}',
  'PATCH /api/v1/sender-rules/{ruleId}',
  'DELETE /api/v1/sender-rules/{ruleId}',
  'POST /api/v1/mailboxes/{mailboxId}/sender-rules',
  'GET /api/v1/mailboxes/{mailboxId}/sender-rules',
  'POST /api/v1/domains/{domainId}/sender-rules/import',
  'GET /api/v1/domains/{domainId}/sender-rules/export',
  'POST /api/v1/mailboxes/{mailboxId}/sender-rules/import',
  'GET /api/v1/mailboxes/{mailboxId}/sender-rules/export',
  'POST /api/v1/api-keys',
  'GET /api/v1/api-keys',
  'GET /api/v1/api-keys/{apiKeyId}',
  'DELETE /api/v1/api-keys/{apiKeyId}',
  'GET /api/v1/audit-events',
  'GET /api/v1/domains/{domainId}/delivery-log',
  'GET /api/v1/mailboxes/{mailboxId}/delivery-log',
  'GET /api/v1/mailboxes/{mailboxId}/sign-ins',
  'GET /api/v1/auth/sign-ins',
  'GET /api/v1/owners/{ownerId}/sign-ins',
  'GET /api/v1/password-warnings',
  'GET /api/v1/quota-warnings',
  'GET /api/v1/client-settings',
  'GET /api/v1/mailboxes/{mailboxId}/mobileconfig',
  'POST /api/v1/mailboxes/{mailboxId}/mobileconfig',
  'GET /api/v1/me/mobileconfig',
  'POST /api/v1/me/mobileconfig',
  'GET /api/autoconfig/mail/config-v1.1.xml',
  'POST /api/autodiscover/autodiscover.xml',
  'GET /api/mta-sts/policy',
  'GET /api/tls/ask',
  'GET /api/v1/mailboxes/{mailboxId}/app-passwords',
  'POST /api/v1/mailboxes/{mailboxId}/app-passwords',
  'DELETE /api/v1/mailboxes/{mailboxId}/app-passwords/{appPasswordId}',
  'PUT /api/v1/mailboxes/{mailboxId}/app-password-policy',
  'PUT /api/v1/domains/{domainId}/app-password-policy',
  'GET /api/v1/auth/sessions',
  'DELETE /api/v1/auth/sessions/{sessionId}',
  'POST /api/v1/auth/sessions/revoke-others',
  'GET /api/v1/webhooks/event-types',
  'POST /api/v1/webhooks',
  'GET /api/v1/webhooks',
  'GET /api/v1/webhooks/{webhookId}',
  'PATCH /api/v1/webhooks/{webhookId}',
  'DELETE /api/v1/webhooks/{webhookId}',
  'GET /api/v1/webhooks/{webhookId}/deliveries',
  'POST /api/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver',
  'GET /api/v1/me/passkeys',
  'POST /api/v1/me/passkeys/registration-options',
  'POST /api/v1/me/passkeys',
  'PATCH /api/v1/me/passkeys/{passkeyId}',
  'DELETE /api/v1/me/passkeys/{passkeyId}',
  'POST /api/v1/auth/passkey/options',
  'POST /api/v1/auth/passkey/login',
  'POST /api/v1/auth/login/second-factor/passkey/options',
  'POST /api/v1/auth/login/second-factor/passkey',
].sort();

/** Public operations: no credentials, so no 401 to document. */
export const PUBLIC_OPERATIONS = [
  'POST /api/v1/auth/login',
  'POST /api/v1/auth/login/second-factor',
  'POST /api/v1/auth/login/enrol/totp',
  'POST /api/v1/auth/login/enrol/totp/confirm',
  'POST /api/v1/auth/passkey/options',
  'POST /api/v1/auth/passkey/login',
  'POST /api/v1/auth/login/second-factor/passkey/options',
  'POST /api/v1/auth/login/second-factor/passkey',
  'GET /api/autoconfig/mail/config-v1.1.xml',
  'POST /api/autodiscover/autodiscover.xml',
  'GET /api/mta-sts/policy',
  'GET /api/tls/ask',
];

export { uniqueName };

/** An owner (with optional limits), signed in, and a verified domain an admin created for them. */
export async function createOwnerWithDomain(
  t: TestContext,
  admin: Credentials,
  limits: { maxMailboxes?: number; maxStorageBytes?: bigint } = {},
  domain: Record<string, unknown> = {},
): Promise<{ owner: TestUser; s: Session; domain: { id: string; name: string } }> {
  const owner = await createUser(t, limits);
  const s = await login(t.app, owner.email, owner.password);
  const d = await call(t.app, admin, 'POST', '/api/v1/domains', {
    name: `${uniqueName('d')}.example`,
    ownerId: owner.id,
    verified: true,
    ...domain,
  });
  if (d.statusCode !== 201) throw new Error(`domain creation failed: ${d.statusCode} ${d.body}`);
  return { owner, s, domain: d.json() as { id: string; name: string } };
}
