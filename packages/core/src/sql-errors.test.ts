// The one SQL-error classifier, against errors real PostgreSQL raises through Prisma's pg adapter.
import { createPrismaClient, type PrismaClient } from '@mailroom/db';
import { testDatabaseUrl } from '@mailroom/db/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  errorCodes,
  isDataException,
  isDatabaseUnavailable,
  isDivisionByZero,
  isRecordNotFound,
  isSerializationFailure,
  isUniqueViolation,
} from './sql-errors.ts';

let prisma: PrismaClient;
beforeAll(() => {
  prisma = createPrismaClient(testDatabaseUrl());
});
afterAll(async () => {
  await prisma.$disconnect();
});

const caught = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  );

describe('SQL-error classification', () => {
  test('a unique violation from raw SQL (SQLSTATE 23505) and from a model call (P2002) is a unique violation and nothing else', async () => {
    const email = `sql-errors-${Date.now()}-${Math.random().toString(36).slice(2)}@example.test`;
    await prisma.user.create({ data: { email, passwordHash: 'x', role: 'OWNER' } });
    try {
      const model = await caught(prisma.user.create({ data: { email, passwordHash: 'x', role: 'OWNER' } }));
      expect(isUniqueViolation(model)).toBe(true);
      // the same row again under a new id, through raw SQL
      const raw = await caught(
        prisma.$executeRawUnsafe(
          `INSERT INTO users SELECT (jsonb_populate_record(NULL::users, to_jsonb(u) || jsonb_build_object('id', gen_random_uuid()))).* FROM users u WHERE email = $1`,
          email,
        ),
      );
      expect(errorCodes(raw)).toContain('23505');
      expect(isUniqueViolation(raw)).toBe(true);
      expect(isDataException(raw) || isDivisionByZero(raw) || isDatabaseUnavailable(raw) || isRecordNotFound(raw)).toBe(false);
    } finally {
      await prisma.user.delete({ where: { email } });
    }
  });

  test('division by zero (how one statement refuses a quota) is 22012 and a data exception', async () => {
    const err = await caught(prisma.$executeRawUnsafe('SELECT v FROM (VALUES (1)) t(v) WHERE v / 0 = 1'));
    expect(isDivisionByZero(err)).toBe(true);
    expect(isDataException(err)).toBe(true);
    expect(isUniqueViolation(err)).toBe(false);
  });

  test('Prisma model errors: P2002 (unique) and P2025 (no such row)', async () => {
    const missing = await caught(prisma.user.update({ where: { id: '00000000-0000-7000-8000-000000000000' }, data: { displayName: 'x' } }));
    expect(isRecordNotFound(missing)).toBe(true);
    expect(isUniqueViolation(missing)).toBe(false);
    expect(isUniqueViolation({ code: 'P2002' })).toBe(true);
  });

  test('a data exception (bad input the schemas let through) is class 22, found through the adapter chain', async () => {
    const err = await caught(prisma.$queryRawUnsafe("SELECT 'not a number'::int"));
    expect(isDataException(err)).toBe(true);
    expect(errorCodes(err)).toContain('22P02');
  });

  test('serialization failures and deadlocks are retryable; codes are found under cause and meta.driverAdapterError', () => {
    expect(isSerializationFailure(new Error('outer', { cause: { code: '40001' } }))).toBe(true);
    expect(isSerializationFailure({ meta: { driverAdapterError: { originalCode: '40P01' } } })).toBe(true);
    expect(isSerializationFailure({ code: '23505' })).toBe(false);
  });

  test('an unreachable database is "unavailable"; a cyclic cause chain ends', async () => {
    const dead = createPrismaClient('postgresql://nobody:x@127.0.0.1:1/none');
    try {
      expect(isDatabaseUnavailable(await caught(dead.$queryRaw`SELECT 1`))).toBe(true);
    } finally {
      await dead.$disconnect();
    }
    const cyclic: { code: string; cause?: unknown } = { code: 'XX000' };
    cyclic.cause = cyclic;
    expect(isDatabaseUnavailable(cyclic)).toBe(false);
    expect(errorCodes(cyclic)).toEqual(['XX000']);
  });
});
