import { createPrismaClient } from '@mailroom/db';
import { testDatabaseUrl, uniqueName } from '@mailroom/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../password.ts';
import { authenticateMailbox } from './mailbox-auth.ts';

const prisma = createPrismaClient(testDatabaseUrl(), { maxConnections: 2 });
const hasher = createPasswordHasher({ memoryKib: 1024, timeCost: 1, parallelism: 1 });
const domainName = `${uniqueName('d')}.example`;
let mailboxId = '';

beforeAll(async () => {
  const owner = await prisma.user.create({ data: { email: `${uniqueName()}@owner.example`, passwordHash: 'x', role: 'OWNER' } });
  const domain = await prisma.domain.create({ data: { name: domainName, ownerId: owner.id, verifiedAt: new Date() } });
  const mb = await prisma.mailbox.create({ data: { domainId: domain.id, localPart: 'alice', passwordHash: await hasher.hash('alice-password-1') } });
  mailboxId = mb.id;
});
afterAll(() => prisma.$disconnect());

describe('authenticateMailbox', () => {
  it('accepts the full address case-insensitively', async () => {
    const r = await authenticateMailbox(prisma, hasher, `Alice@${domainName.toUpperCase()}`, 'alice-password-1');
    expect(r).toMatchObject({ status: 'ok', mailbox: { id: mailboxId, address: `alice@${domainName}` } });
  });

  it('answers unknown addresses and wrong passwords identically', async () => {
    expect(await authenticateMailbox(prisma, hasher, `alice@${domainName}`, 'nope')).toEqual({ status: 'invalid' });
    expect(await authenticateMailbox(prisma, hasher, `nobody@${domainName}`, 'alice-password-1')).toEqual({ status: 'invalid' });
    expect(await authenticateMailbox(prisma, hasher, 'not an address', 'x')).toEqual({ status: 'invalid' });
  });

  it('reports a disabled mailbox only to the holder of the right password', async () => {
    await prisma.mailbox.update({ where: { id: mailboxId }, data: { enabled: false } });
    try {
      expect(await authenticateMailbox(prisma, hasher, `alice@${domainName}`, 'alice-password-1')).toEqual({ status: 'disabled' });
      expect(await authenticateMailbox(prisma, hasher, `alice@${domainName}`, 'wrong')).toEqual({ status: 'invalid' });
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
});
