import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ERROR_CODES } from '@mailroom/core/schemas';
import { createTestApp, EXPECTED_OPERATIONS, PUBLIC_OPERATIONS, type TestContext } from './testing.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

type Doc = {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        operationId?: string;
        security?: unknown[];
        responses: Record<string, { content?: Record<string, unknown> }>;
        parameters?: unknown[];
        requestBody?: unknown;
      }
    >
  >;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, { properties?: Record<string, { enum?: string[] }> }> };
};

describe('OpenAPI document', () => {
  test('is a valid OpenAPI 3 document', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as Doc;
    expect(doc.openapi).toMatch(/^3\./);
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  test('lists exactly the registered API routes, each with an operationId, security and problem responses', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as Doc;
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(EXPECTED_OPERATIONS);
    // …and the router agrees: each documented operation is a real route (not 404 NOT_FOUND for an unknown route).
    for (const op of documented) {
      const [method, path] = op.split(' ') as [string, string];
      const url = path.replace(/\{[^}]+\}/g, '01900000-0000-7000-8000-000000000000');
      const res = await t.app.inject({ method: method as 'GET', url });
      expect(res.body ? (res.json().detail ?? '') : '', op).not.toMatch(/^No route/);
    }
    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.operationId, `${method} ${path}`).toBeTruthy();
        ids.add(op.operationId!);
        expect(Array.isArray(op.security), `${method} ${path} security`).toBe(true);
        if (!PUBLIC_OPERATIONS.includes(`${method.toUpperCase()} ${path}`)) {
          expect(op.responses['401'], `${method} ${path} 401`).toBeDefined();
          expect(op.responses['401']!.content?.['application/problem+json']).toBeDefined();
        }
        expect(op.responses['400'], `${method} ${path} 400`).toBeDefined();
      }
    }
    expect(ids.size).toBe(EXPECTED_OPERATIONS.length);
  });

  test('declares every auth method and every error code', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as Doc;
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearerAuth', 'csrfToken', 'sessionCookie']);
    expect(doc.components.schemas.Problem?.properties?.code?.enum?.sort()).toEqual([...ERROR_CODES].sort());
  });

  test('Swagger UI is served at /api/docs', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('swagger-ui');
    const init = await t.app.inject({ method: 'GET', url: '/api/docs/static/swagger-initializer.js' });
    expect(init.statusCode).toBe(200);
  });
});
