import { createPrismaClient } from '@mailroom/db';
import { testDatabaseUrl, uniqueName } from '@mailroom/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../password.ts';
import { authenticateMailbox, sampleStoredHashParams } from './mailbox-auth.ts';

const prisma = createPrismaClient(testDatabaseUrl(), { maxConnections: 2 });
const hasher = createPasswordHasher({ memoryKib: 1024, timeCost: 1, parallelism: 1 });
const domainName = `${uniqueName('d')}.example`;
let mailboxId = '';

beforeAll(async () => {
  const owner = await prisma.user.create({ data: { email: `${uniqueName()}@owner.example`, passwordHash: 'x', role: 'OWNER' } });
  const domain = await prisma.domain.create({ data: { name: domainName, ownerId: owner.id, verifiedAt: new Date() } });
  const mb = await prisma.mailbox.create({
    data: { domainId: domain.id, localPart: 'alice', passwordHash: await hasher.hash('alice-password-1') },
  });
  mailboxId = mb.id;
});
afterAll(() => prisma.$disconnect());

describe('authenticateMailbox', () => {
  it('accepts the full address case-insensitively', async () => {
    const r = await authenticateMailbox(prisma, hasher, `Alice@${domainName.toUpperCase()}`, 'alice-password-1');
    expect(r).toMatchObject({ status: 'ok', mailbox: { id: mailboxId, address: `alice@${domainName}` } });
  });

  it('answers unknown addresses and wrong passwords identically (the mailbox named only for its sign-in log)', async () => {
    expect(await authenticateMailbox(prisma, hasher, `alice@${domainName}`, 'nope')).toEqual({ status: 'invalid', mailboxId });
    expect(await authenticateMailbox(prisma, hasher, `nobody@${domainName}`, 'alice-password-1')).toEqual({ status: 'invalid' });
    expect(await authenticateMailbox(prisma, hasher, 'not an address', 'x')).toEqual({ status: 'invalid' });
  });

  it('reports a disabled mailbox only to the holder of the right password', async () => {
    await prisma.mailbox.update({ where: { id: mailboxId }, data: { enabled: false } });
    try {
      expect(await authenticateMailbox(prisma, hasher, `alice@${domainName}`, 'alice-password-1')).toEqual({
        status: 'disabled',
        mailboxId,
      });
      expect(await authenticateMailbox(prisma, hasher, `alice@${domainName}`, 'wrong')).toEqual({ status: 'invalid', mailboxId });
    } finally {
      await prisma.mailbox.update({ where: { id: mailboxId }, data: { enabled: true } });
    }
  });

  it('re-hashes with the current parameters after a successful login', async () => {
    const stronger = createPasswordHasher({ memoryKib: 2048, timeCost: 2, parallelism: 1 });
    expect((await authenticateMailbox(prisma, stronger, `alice@${domainName}`, 'alice-password-1')).status).toBe('ok');
    const row = await prisma.mailbox.findUniqueOrThrow({ where: { id: mailboxId } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$v=19\$m=2048,p=1,t=2\$/);
    expect((await stronger.verify(row.passwordHash, 'alice-password-1')).ok).toBe(true);
  });

  it('refuses odd spellings of an existing address without any argon2 work', async () => {
    const counted = createPasswordHasher({ memoryKib: 1024, timeCost: 1, parallelism: 1 });
    for (const login of [
      `alice @${domainName}`,
      ` alice@${domainName}`,
      `alice@\u00AD${domainName}`,
      `alice@${domainName.replace('.', '\u200B.')}`,
      `alice@ｄ${domainName.slice(1)}`,
    ]) {
      expect(await authenticateMailbox(prisma, counted, login, 'alice-password-1')).toEqual({ status: 'invalid' });
    }
    expect(counted.stats().verifications).toBe(0);
  });
});

describe('sampleStoredHashParams', () => {
  it('points the dummy verification at the parameters stored hashes use after ARGON2_* changed', async () => {
    const old = { memoryKib: 1024, timeCost: 1, parallelism: 1 };
    const owner = await prisma.user.findFirstOrThrow({ where: { email: { endsWith: '@owner.example' } } });
    const domain = await prisma.domain.create({ data: { verifiedAt: new Date(), name: `${uniqueName('d')}.example`, ownerId: owner.id } });
    const oldHasher = createPasswordHasher(old);
    for (const localPart of ['a', 'b', 'c', 'd']) {
      await prisma.mailbox.create({
        data: { domainId: domain.id, localPart, passwordHash: await oldHasher.hash(`${localPart}-password`) },
      });
    }
    const current = createPasswordHasher({ memoryKib: 4096, timeCost: 3, parallelism: 1 });
    await sampleStoredHashParams(prisma, current);
    expect(current.params).toEqual({ memoryKib: 4096, timeCost: 3, parallelism: 1 });
    expect(current.dummyParams()).toEqual(old);
  });
});
