// The retention job (RFC 2449 EXPIRE n) through the real pg-boss queue on PostgreSQL.
import type { PrismaClient } from '@mailroom/db';
import { uniqueName } from '@mailroom/db/testing';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createOwner, runThroughQueue, testWorker, workerTestDatabase } from './testing/harness.ts';
import type { Worker } from './worker.ts';

const DAY_MS = 86_400_000;
const onboarding = {
  mxHosts: [{ host: 'mx.mailroom.test', priority: 10 }],
  mtaStsMaxAgeSeconds: 604_800,
  dns: { servers: [], timeoutMs: 200 },
};

let db: Awaited<ReturnType<typeof workerTestDatabase>>;
let prisma: PrismaClient;
let ownerId: string;
const workers: Worker[] = [];

async function domain(retentionDays: number | null): Promise<string> {
  const d = await prisma.domain.create({ data: { name: `${uniqueName('r')}.example`, ownerId, verifiedAt: new Date(), retentionDays } });
  return d.id;
}

/** A mailbox with messages received `ageDays` ago each, its and its domain's usage kept as delivery keeps it. */
async function mailbox(domainId: string, ageDays: number[], retentionDays: number | null = null): Promise<string> {
  const m = await prisma.mailbox.create({ data: { domainId, localPart: uniqueName('u'), passwordHash: 'x', retentionDays } });
  let uid = 0;
  for (const age of ageDays) {
    uid++;
    const raw = Buffer.from(`Subject: ${age} days\r\n\r\n${'x'.repeat(100 + uid)}\r\n`);
    await prisma.message.create({
      data: { mailboxId: m.id, uid, uidl: `u${uid}`, sizeOctets: raw.length, raw, receivedAt: new Date(Date.now() - age * DAY_MS) },
    });
    await prisma.mailbox.update({
      where: { id: m.id },
      data: { usedBytes: { increment: raw.length }, messageCount: { increment: 1 }, nextUid: uid + 1 },
    });
    await prisma.domain.update({ where: { id: domainId }, data: { usedBytes: { increment: raw.length } } });
  }
  return m.id;
}

async function state(mailboxId: string) {
  const m = await prisma.mailbox.findUniqueOrThrow({
    where: { id: mailboxId },
    select: { usedBytes: true, messageCount: true, domainId: true },
  });
  const msgs = await prisma.message.findMany({
    where: { mailboxId },
    select: { sizeOctets: true, receivedAt: true },
    orderBy: { uid: 'asc' },
  });
  const days = msgs.map((x) => Math.round((Date.now() - x.receivedAt.getTime()) / DAY_MS));
  const sum = msgs.reduce((s, x) => s + x.sizeOctets, 0);
  return { days, usedBytes: Number(m.usedBytes), messageCount: m.messageCount, sum };
}

async function domainUsage(domainId: string): Promise<{ used: number; sum: number }> {
  const d = await prisma.domain.findUniqueOrThrow({ where: { id: domainId }, select: { usedBytes: true } });
  const [r] = await prisma.$queryRaw<{ s: bigint | null }[]>`
    SELECT sum(x.size_octets)::bigint AS s FROM messages x JOIN mailboxes m ON m.id = x.mailbox_id WHERE m.domain_id = ${domainId}::uuid`;
  return { used: Number(d.usedBytes), sum: Number(r?.s ?? 0n) };
}

describe('messages.expire (retention job)', () => {
  beforeAll(async () => {
    db = await workerTestDatabase('worker_retention');
    prisma = db.prisma;
    ownerId = await createOwner(prisma);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });
  afterAll(async () => {
    await db?.drop();
  });

  test('deletes messages past the effective retention (mailbox → domain → default), keeps usage exact, skips leased maildrops', async () => {
    const d7 = await domain(7);
    const dNull = await domain(null);
    const byDomain = await mailbox(d7, [10, 8, 1]);
    const mailboxOverride = await mailbox(d7, [10, 8, 1], 9); // its own 9 days beat the domain's 7
    const expire0 = await mailbox(d7, [400, 1], 0); // EXPIRE 0 deletes only what a session retrieved, never here
    const byDefault = await mailbox(dNull, [40, 20]); // operator default 30
    const never = await mailbox(d7, [400], -1); // the mailbox's NEVER beats the domain's 7 days
    const leased = await mailbox(d7, [10, 1]);
    await prisma.maildropLease.create({
      data: { mailboxId: leased, holder: 'pop3-host:1', session: 's1', expiresAt: new Date(Date.now() + 60_000) },
    });
    // a lease left by a crashed POP3 process (expired) does not protect the maildrop
    const staleLease = await mailbox(d7, [10]);
    await prisma.maildropLease.create({
      data: { mailboxId: staleLease, holder: 'gone:1', session: 's2', expiresAt: new Date(Date.now() - 1_000) },
    });

    const w = testWorker(db.url, prisma, { onboarding, retention: { defaultRetentionDays: 30, batchSize: 2 } });
    workers.push(w);
    const { metrics } = await w.start();
    const out = await runThroughQueue(w, 'messages.expire');
    expect(out).toMatchObject({ mailboxes: 4, deleted: 5, leased: 1, interrupted: false });

    expect(await state(byDomain)).toMatchObject({ days: [1], messageCount: 1 });
    expect(await state(mailboxOverride)).toMatchObject({ days: [8, 1], messageCount: 2 });
    expect(await state(expire0)).toMatchObject({ days: [400, 1], messageCount: 2 });
    expect(await state(byDefault)).toMatchObject({ days: [20], messageCount: 1 });
    expect(await state(never)).toMatchObject({ days: [400], messageCount: 1 });
    expect(await state(leased)).toMatchObject({ days: [10, 1], messageCount: 2 });
    expect(await state(staleLease)).toMatchObject({ days: [], messageCount: 0 });
    for (const id of [byDomain, mailboxOverride, expire0, byDefault, leased, staleLease]) {
      const s = await state(id);
      expect(s.usedBytes).toBe(s.sum);
    }
    for (const id of [d7, dNull]) {
      const u = await domainUsage(id);
      expect(u.used).toBe(u.sum);
    }
    // the job's own lease is gone: a POP3 login can take the maildrop
    expect(await prisma.maildropLease.count({ where: { mailboxId: { in: [byDomain, staleLease] } } })).toBe(0);
    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    expect(text).toMatch(/^mailroom_worker_messages_expired_total 5$/m);

    // idempotent, and the leased maildrop gets its turn once its session ended
    await prisma.maildropLease.delete({ where: { mailboxId: leased } });
    expect(await runThroughQueue(w, 'messages.expire')).toMatchObject({ mailboxes: 1, deleted: 1, leased: 0 });
    expect(await state(leased)).toMatchObject({ days: [1], messageCount: 1 });
    expect(await runThroughQueue(w, 'messages.expire')).toMatchObject({ mailboxes: 0, deleted: 0 });
  });

  test('with no retention anywhere (NEVER), nothing is deleted however old', async () => {
    const d = await domain(null);
    const m = await mailbox(d, [5000]);
    const w = testWorker(db.url, prisma, { onboarding, retention: { defaultRetentionDays: null, batchSize: 10 } });
    workers.push(w);
    await w.start();
    const out = await runThroughQueue(w, 'messages.expire');
    expect(out).toMatchObject({ deleted: 0 });
    expect(await state(m)).toMatchObject({ days: [5000], messageCount: 1 });
  });
});
