/**
 * Property-based bad input: malformed bodies, params and queries sent to every route never produce a 5xx; every refusal
 * is a problem+json document with a known code, and input that is malformed by construction is always refused (4xx).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { API_KEY_SCOPES, ERROR_CODES } from '@mailroom/core/schemas';
import { newId } from '@mailroom/db';
import { createKey, createTestApp, createUser, EXPECTED_OPERATIONS, type TestContext, uniqueName } from './testing.ts';

let t: TestContext;
let key: string;
let ids: Record<string, string>;
beforeAll(async () => {
  t = await createTestApp();
  const admin = await createUser(t, { role: 'ADMIN' });
  key = await createKey(t.prisma, admin.id, [...API_KEY_SCOPES]);
  const domain = await t.prisma.domain.create({ data: { name: `${uniqueName('fz')}.example`, ownerId: admin.id, verifiedAt: new Date() } });
  const mailbox = await t.prisma.mailbox.create({
    data: { id: newId(), domainId: domain.id, localPart: 'fuzz', passwordHash: await t.hasher.hash('fuzz passphrase 1') },
  });
  const alias = await t.prisma.alias.create({
    data: { domainId: domain.id, localPart: 'fuzzalias', destinations: { create: [{ mailboxId: mailbox.id }] } },
  });
  const owner = await createUser(t);
  const apiKey = await t.prisma.apiKey.findFirstOrThrow({ where: { userId: admin.id } });
  ids = { domainId: domain.id, mailboxId: mailbox.id, aliasId: alias.id, ownerId: owner.id, apiKeyId: apiKey.id };
});
afterAll(async () => t?.close());

const VALID_ERROR_CODES = new Set<string>(ERROR_CODES);
const ROUTES = EXPECTED_OPERATIONS.map((op) => {
  const [method, path] = op.split(' ') as ['GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', string];
  return { method, path };
});

function fill(path: string, override?: string): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(override ?? ids[name] ?? newId()));
}

/** Deletes target an id that does not exist, so a valid-by-chance request never removes the fixtures. */
function safeFill(method: string, path: string): string {
  return method === 'DELETE' ? path.replace(/\{(\w+)\}/g, () => newId()) : fill(path);
}

async function send(method: string, url: string, opts: { payload?: string; contentType?: string } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (opts.payload !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  return t.app.inject({ method: method as 'GET', url, headers, ...(opts.payload !== undefined ? { payload: opts.payload } : {}) });
}

function assertNoServerError(res: { statusCode: number; headers: Record<string, unknown>; body: string }, label: string) {
  expect(res.statusCode, `${label}: ${res.body.slice(0, 300)}`).toBeLessThan(500);
  if (res.statusCode >= 400) {
    expect(String(res.headers['content-type']), label).toMatch(/^application\/problem\+json/);
    const body = JSON.parse(res.body) as { code: string; status: number };
    expect(VALID_ERROR_CODES.has(body.code), `${label}: code ${body.code}`).toBe(true);
    expect(body.status).toBe(res.statusCode);
  }
}

/** Values of every JSON shape, including hostile strings and numbers. */
const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '../../etc/passwd',
    "' OR 1=1 --",
    '<script>',
    'a'.repeat(5000),
    '😀@😀.😀',
    'xn--',
    '-1',
    '1e309',
    'null',
    '01900000-0000-7000-8000-000000000000',
  ),
);
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    hostileString,
    fc.integer(),
    fc.double(),
    fc.constantFrom(-1, 2 ** 53, 1e308, -0),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 12 }), tie('value'), { maxKeys: 4 }),
  ),
})).value;

const FIELD_NAMES = [
  'email',
  'password',
  'name',
  'localPart',
  'displayName',
  'quotaBytes',
  'ownerId',
  'destinations',
  'scopes',
  'domainIds',
  'expiresAt',
  'enabled',
  'active',
  'maxDomains',
  'maxMailboxes',
  'maxStorageBytes',
  'defaultQuotaBytes',
  'description',
  'currentPassword',
  'newPassword',
  'disabled',
];
const plausibleBody = fc.dictionary(fc.constantFrom(...FIELD_NAMES), jsonValue, { maxKeys: 6 });

const RUNS = 15;

describe('malformed input never yields a 5xx', () => {
  for (const { method, path } of ROUTES) {
    const label = `${method} ${path}`;

    if (method !== 'GET' && method !== 'DELETE') {
      test(`${label}: arbitrary JSON bodies`, async () => {
        await fc.assert(
          fc.asyncProperty(fc.oneof(jsonValue, plausibleBody), async (body) => {
            const res = await send(method, fill(path), { payload: JSON.stringify(body) });
            assertNoServerError(res, label);
            // Not an object at all: always refused.
            if (path !== '/api/v1/auth/logout' && (body === null || typeof body !== 'object' || Array.isArray(body)))
              expect(res.statusCode, label).toBeGreaterThanOrEqual(400);
          }),
          { numRuns: RUNS },
        );
      });

      test(`${label}: broken JSON and wrong content types are 4xx`, async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.string({ maxLength: 60 }).filter((s) => {
              try {
                JSON.parse(s);
                return false;
              } catch {
                return true;
              }
            }),
            fc.constantFrom(
              'application/json',
              'text/plain',
              'application/x-www-form-urlencoded',
              'multipart/form-data; boundary=x',
              'application/xml',
            ),
            async (payload, contentType) => {
              const res = await send(method, fill(path), { payload, contentType });
              assertNoServerError(res, label);
              expect(res.statusCode, label).toBeGreaterThanOrEqual(400);
            },
          ),
          { numRuns: RUNS },
        );
      });
    }

    if (path.includes('{')) {
      test(`${label}: malformed path ids are 4xx`, async () => {
        await fc.assert(
          fc.asyncProperty(
            hostileString.filter((s) => s.length > 0 && !/^[0-9a-f-]{36}$/i.test(s)),
            async (bad) => {
              const res = await send(method, fill(path, bad), method === 'GET' || method === 'DELETE' ? {} : { payload: '{}' });
              assertNoServerError(res, label);
              expect(res.statusCode, label).toBeGreaterThanOrEqual(400);
            },
          ),
          { numRuns: RUNS },
        );
      });
    }

    test(`${label}: arbitrary query strings`, async () => {
      const key = fc.constantFrom(
        'limit',
        'cursor',
        'q',
        'force',
        'ownerId',
        'userId',
        'actorId',
        'targetId',
        'targetType',
        'action',
        'from',
        'to',
        'x',
      );
      await fc.assert(
        fc.asyncProperty(fc.dictionary(key, hostileString, { maxKeys: 4 }), async (query) => {
          const qs = new URLSearchParams(query).toString();
          const res = await send(
            method,
            `${safeFill(method, path)}?${qs}`,
            method === 'GET' || method === 'DELETE' ? {} : { payload: '{}' },
          );
          assertNoServerError(res, label);
        }),
        { numRuns: RUNS },
      );
    });
  }

  test('invalid limits and cursors on lists are 400 VALIDATION_FAILED', async () => {
    const singles = new Set([
      '/api/v1/me',
      '/api/v1/me/2fa',
      '/api/v1/me/passkeys',
      '/api/v1/auth/sessions',
      '/api/v1/password-warnings',
      '/api/v1/mailboxes/{mailboxId}/app-passwords',
      '/api/v1/client-settings',
      '/api/autoconfig/mail/config-v1.1.xml',
      '/api/v1/domains/{domainId}/dns',
      '/api/v1/domains/{domainId}/mta-sts',
      '/api/mta-sts/policy',
      '/api/v1/domains/summary',
      '/api/v1/webhooks/event-types',
    ]);
    const lists = ROUTES.filter(
      (r) =>
        r.method === 'GET' &&
        !r.path.endsWith('}') &&
        !r.path.endsWith('/mobileconfig') &&
        !/\/(mbox|eml)$/.test(r.path) &&
        !singles.has(r.path),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...lists),
        fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 201 }), fc.constantFrom('abc', '1.5', '')),
        async (route, limit) => {
          const res = await send('GET', `${fill(route.path)}?limit=${encodeURIComponent(String(limit))}`);
          expect(res.statusCode).toBe(400);
          expect(res.json().code).toBe('VALIDATION_FAILED');
        },
      ),
      { numRuns: 40 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...lists), fc.string({ minLength: 1, maxLength: 80 }), async (route, cursor) => {
        const res = await send('GET', `${fill(route.path)}?cursor=${encodeURIComponent(cursor)}`);
        assertNoServerError(res, route.path);
      }),
      { numRuns: 60 },
    );
  });
});
