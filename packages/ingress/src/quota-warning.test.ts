import { uniqueName } from '@mailroom/db/testing';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitTraceFields } from './message.ts';
import { createFixture, mailboxState, testPrisma, type Fixture } from './testing/fixtures.ts';
import { startIngress, type RunningIngress } from './testing/harness.ts';

// two pools, two ingress instances: concurrent deliveries from two processes sharing one database
const prisma = testPrisma(10);
const prisma2 = testPrisma(10);
let a: RunningIngress;
let b: RunningIngress;
let f: Fixture;

beforeAll(async () => {
  a = await startIngress(prisma);
  b = await startIngress(prisma2);
  f = await createFixture(prisma);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await prisma.$disconnect();
  await prisma2.$disconnect();
});

function lmtp(port: number) {
  return nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port, name: 'mta.test' } as nodemailer.TransportOptions);
}

/** A message of exactly `bytes` octets as received (trace fields come on top). */
function message(bytes: number, tag = 'm'): string {
  const head = `From: s@sender.example\r\nSubject: ${tag}\r\n\r\n`;
  return head + 'z'.repeat(Math.max(0, bytes - head.length - 2)) + '\r\n';
}

async function send(port: number, to: string, bytes: number, tag?: string) {
  const info = await lmtp(port).sendMail({ envelope: { from: 's@sender.example', to: [to] }, raw: message(bytes, tag) });
  expect(info.accepted).toEqual([to]);
}

async function warnings(mailboxId: string) {
  const rows = await prisma.message.findMany({ where: { mailboxId, countsTowardQuota: false }, orderBy: { uid: 'asc' } });
  return rows.map((r) => ({ uid: r.uid, size: r.sizeOctets, text: Buffer.from(r.raw).toString('utf8') }));
}

/** used_bytes must be the exact sum of the counted messages: warnings are stored but never counted. */
async function expectExactUsage(mailboxId: string) {
  const s = await mailboxState(prisma, mailboxId);
  const counted = s.messages.filter((m) => m.countsTowardQuota).reduce((n, m) => n + m.sizeOctets, 0);
  expect(s.usedBytes).toBe(BigInt(counted));
  expect(s.messageCount).toBe(s.messages.length);
  return s;
}

describe('quota warnings', () => {
  it('delivers one warning per threshold crossed, from postmaster@<domain>, that never counts against the quota', async () => {
    const m = await f.mailbox(uniqueName('w'), { quotaBytes: 20_000 });
    await send(a.ports.lmtp, m.address, 10_000); // ~51% (trace fields add ~200 octets a copy): no threshold
    expect(await warnings(m.id)).toEqual([]);
    await send(a.ports.lmtp, m.address, 6_000); // ~82%: crosses 80
    let w = await warnings(m.id);
    expect(w).toHaveLength(1);
    const text = w[0]!.text;
    const domain = m.address.split('@')[1];
    expect(text).toContain(`From: Mail System <postmaster@${domain}>`);
    expect(text).toMatch(/\r\nDate: \w{3}, \d{1,2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000\r\n/);
    expect(text).toMatch(/\r\nMessage-ID: <quota-warning\.[0-9a-f-]+@mx\.test>\r\n/);
    expect(text).toContain('\r\nAuto-Submitted: auto-generated\r\n');
    expect(text).toContain('\r\nContent-Type: text/plain; charset=utf-8\r\n');
    expect(text).toContain('Subject: Your mailbox is 80% full');
    expect(text).toMatch(/Quota: 19\.5 KiB/);
    let s = await expectExactUsage(m.id);
    expect(s.messages.map((x) => x.uid)).toEqual([1, 2, 3]);
    expect((await prisma.mailbox.findUniqueOrThrow({ where: { id: m.id } })).quotaWarnedPercent).toBe(80);

    await send(a.ports.lmtp, m.address, 500); // ~87%: still 80, no second warning
    expect(await warnings(m.id)).toHaveLength(1);
    await send(a.ports.lmtp, m.address, 1_800); // ~97%: crosses 95
    w = await warnings(m.id);
    expect(w).toHaveLength(2);
    expect(w[1]!.text).toContain('Subject: Your mailbox is 95% full');
    s = await expectExactUsage(m.id);
    // the warnings took none of the quota: a message filling the quota exactly is still accepted
    const free = 20_000 - Number(s.usedBytes);
    const traceBytes = splitTraceFields(Buffer.from(s.messages[0]!.raw)).trace.length;
    const warningBytes = w.reduce((n, x) => n + x.size, 0);
    expect(warningBytes).toBeGreaterThan(20); // had the warnings counted, the next message would not fit
    await send(a.ports.lmtp, m.address, free - traceBytes - 20);
    await expectExactUsage(m.id);
  });

  it('a large message (stored in parts, batch committed in its statement round trip) that crosses a threshold is stored with its warning', async () => {
    // the batch's statement carries its COMMIT, so a warning due aborts it and the message is stored on its own, with
    // the warning in its transaction: the message once, its parts once, the warning once
    const m = await f.mailbox(uniqueName('big'), { quotaBytes: 2_000_000 });
    await send(a.ports.lmtp, m.address, 1_700_000, 'big'); // ~85%: crosses 80
    const w = await warnings(m.id);
    expect(w).toHaveLength(1);
    expect(w[0]!.text).toContain('Subject: Your mailbox is 80% full');
    const s = await expectExactUsage(m.id);
    expect(s.messages.map((x) => [x.uid, x.countsTowardQuota])).toEqual([
      [1, true],
      [2, false],
    ]);
    const big = s.messages[0]!;
    expect(big.parts).toBeGreaterThan(200);
    expect(big.head.length).toBeLessThan(1000);
    expect(big.raw.length).toBe(big.sizeOctets);
    expect(Buffer.from(big.raw).toString('latin1')).toContain('Subject: big\r\n');
  });

  it('concurrent deliveries from two processes crossing the same threshold produce exactly one warning', async () => {
    const m = await f.mailbox(uniqueName('race'), { quotaBytes: 100_000 });
    // 79% used (counters only: what matters to the ingress)
    await prisma.mailbox.update({ where: { id: m.id }, data: { usedBytes: 79_000n } });
    const clients = Array.from({ length: 10 }, (_, i) => send(i % 2 ? b.ports.lmtp : a.ports.lmtp, m.address, 1_200, `race ${i}`));
    await Promise.all(clients);
    const w = await warnings(m.id);
    expect(w).toHaveLength(1);
    expect(w[0]!.text).toContain('80% full');
    const row = await prisma.mailbox.findUniqueOrThrow({ where: { id: m.id } });
    expect(row.quotaWarnedPercent).toBe(80);
    expect(row.messageCount).toBe(11);
    // and exactly one webhook event, in the tenant of the mailbox's owner
    const events = await prisma.webhookEvent.findMany({
      where: { type: 'mailbox.quota_warning', data: { path: ['mailboxId'], equals: m.id } },
    });
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toMatchObject({ address: m.address, percent: 80, quotaBytes: 100_000 });
    expect(events[0]!.ownerId).toBe((await prisma.domain.findUniqueOrThrow({ where: { id: row.domainId } })).ownerId);
  });

  it('re-arms once usage fell below the threshold (messages deleted), and not before', async () => {
    const m = await f.mailbox(uniqueName('rearm'), { quotaBytes: 10_000 });
    await send(a.ports.lmtp, m.address, 8_500);
    expect(await warnings(m.id)).toHaveLength(1);
    // the user deletes the big message (as POP3 DELE + QUIT does: size given back, the warning itself stays)
    const big = (await mailboxState(prisma, m.id)).messages.find((x) => x.countsTowardQuota)!;
    await prisma.$transaction([
      prisma.message.delete({ where: { id: big.id } }),
      prisma.mailbox.update({ where: { id: m.id }, data: { usedBytes: { decrement: big.sizeOctets }, messageCount: { decrement: 1 } } }),
    ]);
    await send(a.ports.lmtp, m.address, 1_000); // ~10%: re-arms (stored level goes back to none)
    expect((await prisma.mailbox.findUniqueOrThrow({ where: { id: m.id } })).quotaWarnedPercent).toBeNull();
    await send(a.ports.lmtp, m.address, 7_500); // crosses 80 again: a second warning
    expect(await warnings(m.id)).toHaveLength(2);
  });

  it("uses the domain's own thresholds, and none when the operator default is empty", async () => {
    const half = await f.domainRow();
    await prisma.$executeRaw`UPDATE domains SET quota_warning_thresholds = ARRAY[50] WHERE id = ${half.id}::uuid`;
    const m = await f.mailbox(uniqueName('half'), { quotaBytes: 10_000, domainId: half.id });
    await send(a.ports.lmtp, m.address, 6_000);
    const w = await warnings(m.id);
    expect(w).toHaveLength(1);
    expect(w[0]!.text).toContain('50% full');

    // QUOTA_WARNING_THRESHOLDS= (empty): the operator switched warnings off for domains without their own
    const off = await startIngress(prisma, { quotaWarningThresholds: [] });
    try {
      const n = await f.mailbox(uniqueName('none'), { quotaBytes: 10_000 });
      await send(off.ports.lmtp, n.address, 9_500);
      expect(await warnings(n.id)).toEqual([]);
    } finally {
      await off.close();
    }
  });

  it('a mailbox without a quota never gets a warning', async () => {
    const m = await f.mailbox(uniqueName('free'), { quotaBytes: null });
    await send(a.ports.lmtp, m.address, 9_000);
    expect(await warnings(m.id)).toEqual([]);
  });
});
