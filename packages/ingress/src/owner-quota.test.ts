import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixture, testPrisma, type Fixture } from './testing/fixtures.ts';
import { startIngress, type RunningIngress } from './testing/harness.ts';
import { WireClient, type Reply } from './testing/wire-client.ts';

// two pools, two ingress instances: the way two ingress processes share one database
const prisma = testPrisma(10);
const prisma2 = testPrisma(10);
let a: RunningIngress;
let b: RunningIngress;

beforeAll(async () => {
  a = await startIngress(prisma);
  b = await startIngress(prisma2);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await prisma.$disconnect();
  await prisma2.$disconnect();
});

const MIB = 1024 * 1024;

function message(bytes: number): Buffer {
  const head = 'From: a@example.org\r\nSubject: big\r\n\r\n';
  const line = `${'x'.repeat(998)}\r\n`;
  return Buffer.from(head + line.repeat(Math.ceil((bytes - head.length) / line.length))).subarray(0, bytes - 2);
}

/**
 * An owner limited to `limit` bytes (null: not limited), with unlimited domains and mailboxes (quota null, created
 * directly in the database).
 */
async function limitedOwner(limit: number | null, mailboxes: number): Promise<{ f: Fixture; addresses: string[] }> {
  const f = await createFixture(prisma);
  if (limit !== null) await prisma.user.update({ where: { id: f.ownerId }, data: { maxStorageBytes: BigInt(limit) } });
  const second = await f.domainRow();
  const addresses: string[] = [];
  for (let i = 0; i < mailboxes; i++) {
    addresses.push((await f.mailbox(`box${i}`, { quotaBytes: null, domainId: i % 2 ? second.id : f.domainId })).address);
  }
  return { f, addresses };
}

async function ownerUsage(ownerId: string): Promise<{ used: bigint; stored: bigint }> {
  const used = await prisma.domain.aggregate({ where: { ownerId }, _sum: { usedBytes: true } });
  const stored = await prisma.message.aggregate({ where: { mailbox: { domain: { ownerId } } }, _sum: { sizeOctets: true } });
  return { used: used._sum.usedBytes ?? 0n, stored: BigInt(stored._sum.sizeOctets ?? 0) };
}

/** One SMTP transaction; the reply to RCPT when it refuses, else the reply to the message. */
async function sendSmtp(port: number, to: string, raw: Buffer, mailArgs = ''): Promise<Reply> {
  const c = await WireClient.connect(port);
  try {
    await c.command('EHLO client.test');
    expect((await c.command(`MAIL FROM:<a@example.org>${mailArgs}`)).code).toBe(250);
    const rcpt = await c.command(`RCPT TO:<${to}>`);
    if (rcpt.code !== 250) return rcpt;
    expect((await c.command('DATA')).code).toBe(354);
    c.sendData(raw);
    return await c.read();
  } finally {
    await c.quit();
  }
}

const codeOf = (r: Reply) => `${r.code} ${r.text.split(' ')[0]}`;

describe("an owner's storage limit at delivery", () => {
  it('refuses mail beyond an owner limit of 1 MiB into unlimited mailboxes of two domains (3 × 1 MB over SMTP)', async () => {
    const { f, addresses } = await limitedOwner(MIB, 2);
    const raw = message(1_000_000);
    expect(codeOf(await sendSmtp(a.ports.smtp, addresses[0]!, raw))).toBe('250 2.0.0');
    // the other domain of the same owner: refused when the message is stored (no SIZE declared)
    expect(codeOf(await sendSmtp(a.ports.smtp, addresses[1]!, raw))).toBe('452 4.2.2');
    // with SIZE declared, already at RCPT time
    expect(codeOf(await sendSmtp(a.ports.smtp, addresses[1]!, raw, ' SIZE=1000000'))).toBe('452 4.2.2');
    const usage = await ownerUsage(f.ownerId);
    expect(usage.used).toBe(usage.stored);
    expect(usage.used).toBeLessThanOrEqual(BigInt(MIB));
    expect(usage.used).toBeGreaterThan(1_000_000n);
  });

  it.each([
    { name: 'over it: refused, nothing stored', limit: 500_000, code: '452 4.2.2' },
    { name: 'under it: stored and counted', limit: 3 * MIB, code: '250 2.0.0' },
  ])('holds a limit set between RCPT and the end of DATA (1 MB, stored in parts): $name', async ({ limit, code }) => {
    // limited while the message is on its way: the RCPT lookup saw an unlimited owner, so the group commit takes no
    // owner lock for it, and must still not store past the limit
    const { f, addresses } = await limitedOwner(null, 1);
    const c = await WireClient.connect(a.ports.smtp);
    try {
      await c.command('EHLO client.test');
      await c.command('MAIL FROM:<a@example.org>');
      expect((await c.command(`RCPT TO:<${addresses[0]}>`)).code).toBe(250);
      await prisma.user.update({ where: { id: f.ownerId }, data: { maxStorageBytes: BigInt(limit) } });
      expect((await c.command('DATA')).code).toBe(354);
      c.sendData(message(1_000_000));
      expect(codeOf(await c.read())).toBe(code);
    } finally {
      await c.quit();
    }
    const stored = code === '250 2.0.0';
    const usage = await ownerUsage(f.ownerId);
    expect(usage.used).toBe(usage.stored);
    if (stored) expect(usage.stored).toBeGreaterThan(1_000_000n);
    else expect(usage.stored).toBe(0n);
    const parts = await prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM message_parts p JOIN messages m ON m.id = p.message_id
        JOIN mailboxes b ON b.id = m.mailbox_id JOIN domains d ON d.id = b.domain_id WHERE d.owner_id = ${f.ownerId}::uuid`;
    expect(parts[0]!.n > 0n).toBe(stored);
    // and no parts were left behind without their message (a refused batch's COPY rolls back with it)
    const orphans = await prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM message_parts p WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = p.message_id)`;
    expect(orphans[0]!.n).toBe(0n);
  });

  it('answers 552 5.2.2 instead with INGRESS_QUOTA_REPLY=permanent', async () => {
    const { addresses } = await limitedOwner(100_000, 1);
    const perm = await startIngress(prisma, { quotaReply: 'permanent' });
    try {
      const r = await sendSmtp(perm.ports.smtp, addresses[0]!, message(200_000));
      expect(codeOf(r)).toBe('552 5.2.2');
      expect(r.text).toMatch(/Account storage full/);
    } finally {
      await perm.close();
    }
  });

  it.each([
    { name: 'small messages (one-statement group commit)', size: 200_000, count: 12, limit: MIB, fit: 5 },
    { name: 'large messages (statement per copy)', size: 1_200_000, count: 6, limit: 2.5 * MIB, fit: 2 },
  ])('concurrent deliveries through two ingress instances cannot overshoot it: $name', async ({ size, count, limit, fit }) => {
    const { f, addresses } = await limitedOwner(limit, 4);
    const raw = message(size);
    const replies = await Promise.all(
      Array.from({ length: count }, (_, i) => sendSmtp((i % 2 ? b : a).ports.smtp, addresses[i % addresses.length]!, raw)),
    );
    const codes = replies.map(codeOf);
    expect(codes.filter((c) => c === '250 2.0.0')).toHaveLength(fit);
    expect(codes.filter((c) => c === '452 4.2.2')).toHaveLength(count - fit);
    const usage = await ownerUsage(f.ownerId);
    expect(usage.used).toBe(usage.stored);
    expect(usage.used).toBeLessThanOrEqual(BigInt(limit));
  });
});
