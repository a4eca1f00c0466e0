// The quota/usage arithmetic's one home, against real PostgreSQL: the fragments the delivery statements use and the
// release functions deletions (panel, API, POP3 UPDATE state, retention) use.
import { createPrismaClient, type PrismaClient } from '@mailroom/db';
import { testDatabaseUrl } from '@mailroom/db/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { removeStoredMessages } from './messages.ts';
import {
  domainFitsSql,
  mailboxFitsSql,
  mailboxUsageAddSql,
  ownerFitsSql,
  quotaLevelSql,
  releaseDomainUsage,
  releaseMailboxUsage,
} from './quota.ts';

let prisma: PrismaClient;
beforeAll(() => {
  prisma = createPrismaClient(testDatabaseUrl());
});
afterAll(async () => prisma.$disconnect());

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

async function fixture(limits: { quota?: bigint; domainMax?: bigint; ownerMax?: bigint } = {}) {
  const n = unique();
  const owner = await prisma.user.create({
    data: { email: `quota-${n}@owner.test`, passwordHash: 'x', role: 'OWNER', maxStorageBytes: limits.ownerMax ?? null },
  });
  const domain = await prisma.domain.create({
    data: { name: `quota-${n}.test`, ownerId: owner.id, verifiedAt: new Date(), maxStorageBytes: limits.domainMax ?? null },
  });
  const mailbox = await prisma.mailbox.create({
    data: { domainId: domain.id, localPart: 'box', passwordHash: 'x', quotaBytes: limits.quota ?? null },
  });
  return { owner, domain, mailbox };
}

async function usage(f: Awaited<ReturnType<typeof fixture>>) {
  const m = await prisma.mailbox.findUniqueOrThrow({ where: { id: f.mailbox.id } });
  const d = await prisma.domain.findUniqueOrThrow({ where: { id: f.domain.id } });
  return { mailbox: Number(m.usedBytes), messages: m.messageCount, domain: Number(d.usedBytes) };
}

/** What the ingress's statement does: add `bytes` under all three limits, in one UPDATE per row. */
async function deliver(f: Awaited<ReturnType<typeof fixture>>, bytes: number): Promise<boolean> {
  return prisma
    .$transaction(async (tx) => {
      const mb = await tx.$executeRawUnsafe(
        `UPDATE mailboxes m SET ${mailboxUsageAddSql('$2::bigint', '1')}, quota_warned_percent = ${quotaLevelSql('m.used_bytes + $2::bigint', 'm', 'ARRAY[50]')}
        WHERE m.id = $1::uuid AND ${mailboxFitsSql('$2::bigint')}`,
        f.mailbox.id,
        bytes,
      );
      const dom = await tx.$executeRawUnsafe(
        `UPDATE domains d SET used_bytes = d.used_bytes + $2::bigint FROM users u
        WHERE d.id = $1::uuid AND u.id = d.owner_id AND ${domainFitsSql('$2::bigint')} AND ${ownerFitsSql('$2::bigint')}`,
        f.domain.id,
        bytes,
      );
      if (mb !== 1 || dom !== 1) throw new Error('refused');
      return true;
    })
    .catch(() => false);
}

describe('quota arithmetic', () => {
  test('adding stops at each limit (mailbox quota, domain storage, owner storage) and lands exactly on it', async () => {
    const box = await fixture({ quota: 100n });
    expect(await deliver(box, 60)).toBe(true);
    expect(await deliver(box, 41)).toBe(false);
    expect(await deliver(box, 40)).toBe(true);
    expect(await usage(box)).toEqual({ mailbox: 100, messages: 2, domain: 100 });
    expect((await prisma.mailbox.findUniqueOrThrow({ where: { id: box.mailbox.id } })).quotaWarnedPercent).toBe(50);

    const dom = await fixture({ domainMax: 10n });
    expect(await deliver(dom, 11)).toBe(false);
    expect(await usage(dom)).toEqual({ mailbox: 0, messages: 0, domain: 0 });

    const owner = await fixture({ ownerMax: 10n });
    expect(await deliver(owner, 10)).toBe(true);
    expect(await deliver(owner, 1)).toBe(false);
  });

  test('deleting messages gives back only what counted (a quota warning counts no bytes) to mailbox and domain', async () => {
    const f = await fixture();
    await prisma.mailbox.update({ where: { id: f.mailbox.id }, data: { usedBytes: 300n, messageCount: 3, nextUid: 4 } });
    await prisma.domain.update({ where: { id: f.domain.id }, data: { usedBytes: 300n } });
    const raw = (n: number) => Buffer.alloc(n, 0x61);
    await prisma.message.createMany({
      data: [
        { mailboxId: f.mailbox.id, uid: 1, uidl: `1.${unique()}`, sizeOctets: 100, raw: raw(100) },
        { mailboxId: f.mailbox.id, uid: 2, uidl: `2.${unique()}`, sizeOctets: 200, raw: raw(200) },
        { mailboxId: f.mailbox.id, uid: 3, uidl: `3.${unique()}`, sizeOctets: 50, raw: raw(50), countsTowardQuota: false },
      ],
    });
    const ids = (await prisma.message.findMany({ where: { mailboxId: f.mailbox.id, uid: { in: [1, 3] } } })).map((m) => m.id);
    expect(await prisma.$transaction((tx) => removeStoredMessages(tx, f.mailbox.id, { ids }))).toEqual({ deleted: 2, bytes: 150 });
    expect(await usage(f)).toEqual({ mailbox: 200, messages: 1, domain: 200 });
  });

  test('a counter that drifted below what is released stops at 0 instead of going negative', async () => {
    const f = await fixture();
    await prisma.mailbox.update({ where: { id: f.mailbox.id }, data: { usedBytes: 10n, messageCount: 1 } });
    await prisma.domain.update({ where: { id: f.domain.id }, data: { usedBytes: 5n } });
    await prisma.$transaction((tx) => releaseMailboxUsage(tx, f.mailbox.id, 50, 2));
    expect(await usage(f)).toEqual({ mailbox: 0, messages: 0, domain: 0 });
    await prisma.domain.update({ where: { id: f.domain.id }, data: { usedBytes: 7n } });
    await prisma.$transaction((tx) => releaseDomainUsage(tx, f.domain.id, 9n));
    expect((await usage(f)).domain).toBe(0);
  });
});
