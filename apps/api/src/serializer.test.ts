import { describe, expect, test } from 'vitest';
import { meSchema, mailboxPageSchema, problemSchema, auditEventPageSchema, createdApiKeySchema } from '@mailroom/core/schemas';
import { z } from 'zod';
import { fastSerializerCompiler } from './serializer.ts';

const compile = (schema: z.ZodType) =>
  fastSerializerCompiler({ schema, method: 'GET', url: '/x', httpStatus: '200' } as never) as (d: unknown) => string;

describe('response serializer', () => {
  test('writes only declared properties: a hash or secret on the object never reaches the response', () => {
    const now = new Date().toISOString();
    const item = {
      id: '01900000-0000-7000-8000-000000000000',
      domainId: '01900000-0000-7000-8000-000000000000',
      domain: 'x.example',
      localPart: 'a',
      address: 'a@x.example',
      displayName: null,
      quotaBytes: null,
      usedBytes: 5,
      messageCount: 1,
      enabled: true,
      loginDelaySeconds: null,
      retentionDays: null,
      lastLoginAt: null,
      lastLoginIp: null,
      passwordChangedAt: now,
      createdAt: now,
      updatedAt: now,
    };
    const out = compile(mailboxPageSchema)({ items: [{ ...item, passwordHash: '$argon2id$v=19$secret' }], nextCursor: null, secret: 'x' });
    expect(out).not.toContain('argon2');
    expect(out).not.toContain('secret');
    expect(JSON.parse(out)).toEqual({ items: [item], nextCursor: null });
  });

  test('keeps free-form maps (problem details, audit details) and nested objects', () => {
    const p = {
      type: 't',
      title: 'T',
      status: 422,
      code: 'LIMIT_STORAGE_EXCEEDED',
      detail: 'd',
      details: { scope: 'owner', limitBytes: 10 },
      errors: [{ path: 'quotaBytes', message: 'm' }],
    };
    expect(JSON.parse(compile(problemSchema)(p))).toEqual(p);
    const e = {
      id: '01900000-0000-7000-8000-000000000000',
      actorType: 'user',
      actorId: null,
      actorLabel: 'a',
      apiKeyId: null,
      ownerId: null,
      action: 'x',
      targetType: 'y',
      targetId: null,
      ip: null,
      details: { nested: { a: [1, 2] } },
      createdAt: new Date().toISOString(),
    };
    expect(JSON.parse(compile(auditEventPageSchema)({ items: [e], nextCursor: 'c' }))).toEqual({ items: [e], nextCursor: 'c' });
  });

  test('every response schema compiles to the fast path (no silent fallback)', () => {
    for (const s of [meSchema, mailboxPageSchema, problemSchema, auditEventPageSchema, createdApiKeySchema]) {
      expect(() => z.toJSONSchema(s, { io: 'output', unrepresentable: 'throw', target: 'draft-7' })).not.toThrow();
    }
  });
});
