import { newId } from '@mailroom/db';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, createKey, createTestApp, createUser, login, type Session, type TestContext, uniqueName } from '../testing.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

interface Tenant {
  s: Session;
  userId: string;
  domainId: string;
  domain: string;
  mailboxId: string;
  address: string;
}

async function tenant(): Promise<Tenant> {
  const u = await createUser(t);
  const s = await login(t.app, u.email, u.password);
  const domain = `${uniqueName('d')}.example`;
  const d = await t.prisma.domain.create({ data: { name: domain, ownerId: u.id, verifiedAt: new Date() } });
  const m = await t.prisma.mailbox.create({ data: { domainId: d.id, localPart: 'box', passwordHash: 'x', quotaBytes: 1000n } });
  return { s, userId: u.id, domainId: d.id, domain, mailboxId: m.id, address: `box@${domain}` };
}

/** An entry as the ingress writes it (the ingress tests cover the writing; here the reading). */
async function entry(
  x: Tenant,
  o: { result: 'delivered' | 'refused' | 'deferred'; from?: string; author?: string; to?: string; at?: Date; mailbox?: boolean },
) {
  const code = o.result === 'delivered' ? [250, '2.0.0'] : o.result === 'refused' ? [550, '5.1.1'] : [452, '4.2.2'];
  const at = o.at ?? new Date();
  return t.prisma.deliveryLogEntry.create({
    data: {
      id: newId(at),
      createdAt: at,
      domainId: x.domainId,
      mailboxId: o.mailbox === false ? null : x.mailboxId,
      result: o.result,
      replyCode: code[0] as number,
      enhancedCode: code[1] as string,
      reason: o.result === 'delivered' ? null : 'unknown user',
      envelopeFrom: o.from ?? 'sender@elsewhere.example',
      headerFrom: o.author ?? null,
      recipient: o.to ?? x.address,
      clientAddress: '192.0.2.1',
      protocol: 'ESMTPS',
      queueId: 'Q1',
    },
  });
}

describe('delivery log API', () => {
  test('a domain owner pages through the log newest first and filters by result, sender, recipient and time', async () => {
    const x = await tenant();
    const old = new Date(Date.now() - 5 * 86_400_000);
    await entry(x, { result: 'delivered', at: old });
    await entry(x, { result: 'refused', to: `nobody@${x.domain}`, mailbox: false, from: 'Spam@Bad.example' });
    await entry(x, { result: 'deferred' });
    await entry(x, { result: 'delivered', from: 'bounce-7f3a@esp.example', author: 'News@Brand.example' });

    const all: { result: string; recipient: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call(t.app, x.s, 'GET', `/api/v1/domains/${x.domainId}/delivery-log?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode).toBe(200);
      all.push(...res.json().items);
      cursor = res.json().nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(2);
    expect(all.map((e) => e.result)).toEqual(['delivered', 'deferred', 'refused', 'delivered']);

    const q = async (query: string) =>
      (await call(t.app, x.s, 'GET', `/api/v1/domains/${x.domainId}/delivery-log?${query}`)).json().items as {
        result: string;
        envelopeFrom: string;
        headerFrom: string | null;
        recipient: string;
        replyCode: number;
        enhancedCode: string;
        reason: string;
      }[];
    const refused = await q('result=refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ replyCode: 550, enhancedCode: '5.1.1', reason: 'unknown user', recipient: `nobody@${x.domain}` });
    expect((await q('sender=spam@bad')).map((e) => e.envelopeFrom)).toEqual(['Spam@Bad.example']);
    // the sender filter finds a message by its author as well as by MAIL FROM; the author is in the entry
    expect(await q('sender=news@brand')).toMatchObject([{ envelopeFrom: 'bounce-7f3a@esp.example', headerFrom: 'News@Brand.example' }]);
    expect((await q('sender=esp.example')).map((e) => e.headerFrom)).toEqual(['News@Brand.example']);
    expect((await q('result=deferred')).map((e) => e.headerFrom)).toEqual([null]);
    expect((await q('recipient=NOBODY')).map((e) => e.result)).toEqual(['refused']);
    expect((await q(`to=${encodeURIComponent(new Date(Date.now() - 86_400_000).toISOString())}`)).map((e) => e.result)).toEqual([
      'delivered',
    ]);
    expect(await q(`from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);

    // the mailbox view: only entries tied to the mailbox
    const mb = await call(t.app, x.s, 'GET', `/api/v1/mailboxes/${x.mailboxId}/delivery-log`);
    expect(mb.statusCode).toBe(200);
    expect(mb.json().items.map((e: { result: string }) => e.result)).toEqual(['delivered', 'deferred', 'delivered']);
  });

  test('bad filters and cursors are 400, never 500', async () => {
    const x = await tenant();
    for (const query of [
      'result=lost',
      'cursor=%%%',
      `cursor=${Buffer.from('{"id":"x"}').toString('base64url')}`,
      'from=yesterday',
      'limit=0',
      `from=${new Date().toISOString()}&to=${new Date(Date.now() - 1000).toISOString()}`,
    ]) {
      const res = await call(t.app, x.s, 'GET', `/api/v1/domains/${x.domainId}/delivery-log?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }
  });

  test("abuse: another owner's domain and mailbox, a key restricted to another domain, a key without the scope", async () => {
    const a = await tenant();
    const b = await tenant();
    await entry(a, { result: 'refused', to: `secret@${a.domain}` });
    expect((await call(t.app, b.s, 'GET', `/api/v1/domains/${a.domainId}/delivery-log`)).statusCode).toBe(404);
    expect((await call(t.app, b.s, 'GET', `/api/v1/mailboxes/${a.mailboxId}/delivery-log`)).statusCode).toBe(404);
    // same owner, key restricted to one of its domains
    const other = await t.prisma.domain.create({ data: { name: `${uniqueName('o')}.example`, ownerId: a.userId, verifiedAt: new Date() } });
    const restricted = { key: await createKey(t.prisma, a.userId, ['domains:read', 'mailboxes:read'], [other.id]) };
    expect((await call(t.app, restricted, 'GET', `/api/v1/domains/${a.domainId}/delivery-log`)).statusCode).toBe(404);
    expect((await call(t.app, restricted, 'GET', `/api/v1/mailboxes/${a.mailboxId}/delivery-log`)).statusCode).toBe(404);
    expect((await call(t.app, restricted, 'GET', `/api/v1/domains/${other.id}/delivery-log`)).statusCode).toBe(200);
    const noScope = { key: await createKey(t.prisma, a.userId, ['audit:read']) };
    expect((await call(t.app, noScope, 'GET', `/api/v1/domains/${a.domainId}/delivery-log`)).statusCode).toBe(403);
    expect((await call(t.app, noScope, 'GET', '/api/v1/quota-warnings')).statusCode).toBe(403);
    expect((await call(t.app, null, 'GET', `/api/v1/domains/${a.domainId}/delivery-log`)).statusCode).toBe(401);
    // an admin reads any domain's log
    const admin = await createUser(t, { role: 'ADMIN' });
    const as = await login(t.app, admin.email, admin.password);
    const res = await call(t.app, as, 'GET', `/api/v1/domains/${a.domainId}/delivery-log`);
    expect(res.statusCode).toBe(200);
    expect(res.json().items.map((e: { recipient: string }) => e.recipient)).toEqual([`secret@${a.domain}`]);
  });

  test("quota warnings: the owner's dashboard lists its mailboxes still at or above the threshold warned about, nobody else's", async () => {
    const a = await tenant();
    const b = await tenant();
    await t.prisma.mailbox.update({
      where: { id: a.mailboxId },
      data: { usedBytes: 960n, quotaWarnedPercent: 95, quotaWarnedAt: new Date() },
    });
    await t.prisma.mailbox.update({ where: { id: b.mailboxId }, data: { usedBytes: 900n, quotaWarnedPercent: 80 } });
    const emptied = await t.prisma.mailbox.create({
      data: { domainId: a.domainId, localPart: 'emptied', passwordHash: 'x', quotaBytes: 1000n, usedBytes: 100n, quotaWarnedPercent: 80 },
    });
    const res = await call(t.app, a.s, 'GET', '/api/v1/quota-warnings');
    expect(res.statusCode).toBe(200);
    const items = res.json().items as { mailboxId: string; address: string; percentUsed: number; warnedPercent: number }[];
    expect(items).toEqual([
      expect.objectContaining({
        mailboxId: a.mailboxId,
        address: a.address,
        percentUsed: 96,
        warnedPercent: 95,
        usedBytes: 960,
        quotaBytes: 1000,
      }),
    ]);
    expect(items.map((i) => i.mailboxId)).not.toContain(emptied.id);
  });

  test('domain quota warning thresholds: set, sorted, reset to the operator default, validated', async () => {
    const x = await tenant();
    const patch = (body: unknown) => call(t.app, x.s, 'PATCH', `/api/v1/domains/${x.domainId}`, body);
    let res = await patch({ quotaWarningThresholds: [90, 50] });
    expect(res.statusCode).toBe(200);
    expect(res.json().quotaWarningThresholds).toEqual([50, 90]);
    expect((await call(t.app, x.s, 'GET', `/api/v1/domains/${x.domainId}`)).json().quotaWarningThresholds).toEqual([50, 90]);
    res = await patch({ quotaWarningThresholds: null });
    expect(res.json().quotaWarningThresholds).toBeNull();
    for (const bad of [[], [0], [101], [80, 80], [1, 2, 3, 4, 5, 6], ['80'], 80]) {
      const r = await patch({ quotaWarningThresholds: bad });
      expect(r.statusCode, JSON.stringify(bad)).toBe(400);
    }
  });
});
