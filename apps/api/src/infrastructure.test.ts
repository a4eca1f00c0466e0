import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPrismaClient } from '@mailroom/db';
import { createPasswordHasher } from '@mailroom/core';
import { buildApp } from './app.ts';
import { defaultApiConfig } from './config.ts';
import { createTestApp, createUser, login, TEST_ARGON2, type TestContext } from './testing.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp({ bodyLimitBytes: 4096 });
});
afterAll(async () => t?.close());

describe('infrastructure', () => {
  test('/healthz and /readyz answer when the database is reachable', async () => {
    expect((await t.app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
  });

  test('/readyz answers 503 DB_UNAVAILABLE when the database is unreachable', async () => {
    const prisma = createPrismaClient('postgresql://nobody:nothing@127.0.0.1:1/none', { maxConnections: 1 });
    const app = await buildApp({ prisma, hasher: createPasswordHasher(TEST_ARGON2), secret: 's', config: defaultApiConfig() });
    try {
      const res = await app.inject('/readyz');
      expect(res.statusCode).toBe(503);
      expect(res.json().code).toBe('DB_UNAVAILABLE');
      expect((await app.inject('/healthz')).statusCode).toBe(200);
    } finally {
      await app.close();
      await prisma.$disconnect();
    }
  });

  test('/metrics exposes Prometheus metrics including request counts', async () => {
    await t.app.inject('/healthz');
    const res = await t.app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.body).toContain('mailroom_api_http_requests_total');
    expect(res.body).toContain('route="/healthz"');
  });

  test('every response carries a request id (echoing a sane incoming one) and security headers, and no CORS grant', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { 'x-request-id': 'abc-123', origin: 'https://evil.example' },
    });
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(res.json().requestId).toBe('abc-123');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const pre = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/domains',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    const odd = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id\twith spaces' } });
    expect(odd.headers['x-request-id']).not.toContain(' ');
  });

  test('unknown routes are problem+json 404 NOT_FOUND', async () => {
    const res = await t.app.inject('/api/v1/nothing-here');
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 404, code: 'NOT_FOUND', type: 'urn:mailroom:problem:not-found', title: 'Not Found' });
  });

  test('malformed JSON, wrong content type and oversized bodies are 4xx problems, never 500', async () => {
    const owner = await createUser(t);
    const s = await login(t.app, owner.email, owner.password);
    const headers = { cookie: s.cookie, 'x-csrf-token': s.csrf };
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v1/domains',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: '{"name":',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('VALIDATION_FAILED');
    const text = await t.app.inject({
      method: 'POST',
      url: '/api/v1/domains',
      headers: { ...headers, 'content-type': 'text/plain' },
      payload: 'name=x',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json().code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const big = await t.app.inject({
      method: 'POST',
      url: '/api/v1/domains',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x'.repeat(10_000) }),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().code).toBe('PAYLOAD_TOO_LARGE');
  });

  test('validation errors list each invalid field', async () => {
    const owner = await createUser(t);
    const s = await login(t.app, owner.email, owner.password);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/domains',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
      payload: { name: 5, defaultQuotaBytes: -1 },
    });
    expect(res.statusCode).toBe(400);
    const paths = (res.json().errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(['body.defaultQuotaBytes', 'body.name']);
    const q = await t.app.inject({ method: 'GET', url: '/api/v1/domains?limit=500', headers: { cookie: s.cookie } });
    expect(q.statusCode).toBe(400);
    expect(q.json().errors[0].path).toBe('query.limit');
  });
});
