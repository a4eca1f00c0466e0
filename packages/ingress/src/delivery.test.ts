import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryService, deliverMessage, type BatchInfo, type StoreRequest } from './delivery.ts';
import { createPrismaClient, MESSAGE_PART_OCTETS, pgPoolOf } from '@mailroom/db';
import { lockWaiters, testDatabaseUrl } from '@mailroom/db/testing';
import { normalizeCrlf, splitTraceFields } from './message.ts';
import { PARTS_MIN_BODY_OCTETS } from '@mailroom/db';
import { createFixture, domainUsedBytes, mailboxState, testPrisma } from './testing/fixtures.ts';

const prisma = testPrisma(20);
afterAll(() => prisma.$disconnect());

const MSG = 'From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nhello\r\n';

describe('recipient resolution', () => {
  let f: Awaited<ReturnType<typeof createFixture>>;
  let svc: DeliveryService;
  beforeAll(async () => {
    f = await createFixture(prisma);
    svc = new DeliveryService(prisma);
  });

  it('finds a mailbox case-insensitively', async () => {
    const m = await f.mailbox('alice');
    const r = await svc.resolveRecipient(`ALICE@${f.domain.toUpperCase()}`);
    expect(r).toMatchObject({ ok: true, kind: 'mailbox', targets: [{ mailboxId: m.id, address: m.address }] });
  });

  it('answers 550 5.1.1 for an unknown user, 5.7.1 for a foreign domain, 5.2.1 for disabled', async () => {
    expect(await svc.resolveRecipient(`nobody@${f.domain}`)).toMatchObject({ ok: false, reply: { code: 550, status: '5.1.1' } });
    expect(await svc.resolveRecipient('someone@not-hosted.example')).toMatchObject({ ok: false, reply: { code: 550, status: '5.7.1' } });
    await f.mailbox('off', { enabled: false });
    expect(await svc.resolveRecipient(`off@${f.domain}`)).toMatchObject({ ok: false, reply: { code: 550, status: '5.2.1' } });
    const dead = await f.domainRow({ active: false });
    await f.mailbox('x', { domainId: dead.id });
    expect(await svc.resolveRecipient(`x@${dead.name}`)).toMatchObject({ ok: false, reply: { code: 550, status: '5.2.1' } });
  });

  it('takes name+tag to the mailbox or alias name before the catch-all (subaddressing); an address of its own wins', async () => {
    const g = await createFixture(prisma);
    const alice = await g.mailbox('alice');
    const work = await g.mailbox('alice+work');
    const teamBox = await g.mailbox('team-box');
    await g.alias('sales', [teamBox.id]);
    const catcher = await g.mailbox('catcher');
    await g.alias(null, [catcher.id]);
    const where = async (rcpt: string, s = svc) => {
      const r = await s.resolveRecipient(rcpt);
      return r.ok ? [r.kind, ...r.targets.map((t) => `${t.mailboxId} ${t.address}`)] : [r.reply.code, r.reply.status];
    };
    const at = `@${g.domain}`;
    // Delivered-To keeps the tag, as the sender wrote it (lowercased)
    expect(await where(`Alice+News@${g.domain.toUpperCase()}`)).toEqual(['mailbox', `${alice.id} alice+news${at}`]);
    expect(await where(`alice+${at}`)).toEqual(['mailbox', `${alice.id} alice+${at}`]);
    // the first delimiter splits: alice+work+x is alice's, not alice+work's
    expect(await where(`alice+work+x${at}`)).toEqual(['mailbox', `${alice.id} alice+work+x${at}`]);
    expect(await where(`alice+work${at}`)).toEqual(['mailbox', `${work.id} alice+work${at}`]);
    expect(await where(`sales+q4${at}`)).toEqual(['alias', `${teamBox.id} team-box${at}`]);
    // no name before the delimiter, no such name, or another delimiter: the catch-all
    for (const rcpt of [`+tag${at}`, `nobody+tag${at}`, `alice-news${at}`])
      expect([rcpt, ...(await where(rcpt))]).toEqual([rcpt, 'catch-all', `${catcher.id} catcher${at}`]);
    // the operator's own set of delimiters, or none
    const dash = new DeliveryService(prisma, { recipientDelimiter: '+-' });
    expect(await where(`alice-news${at}`, dash)).toEqual(['mailbox', `${alice.id} alice-news${at}`]);
    const off = new DeliveryService(prisma, { recipientDelimiter: '' });
    expect(await where(`alice+news${at}`, off)).toEqual(['catch-all', `${catcher.id} catcher${at}`]);
  });

  it('takes a quoted local part as the mailbox it quotes (RFC 5321 §4.1.2): "alice" and "al\\ice" are alice', async () => {
    const g = await createFixture(prisma);
    const alice = await g.mailbox('alice');
    const found = async (rcpt: string) => {
      const r = await svc.resolveRecipient(rcpt);
      return r.ok ? r.targets.map((t) => `${t.mailboxId} ${t.address}`) : `${r.reply.code} ${r.reply.status}`;
    };
    for (const quoted of ['"alice"', '"ALICE"', '"al\\ice"', '"alice+news"']) {
      const tag = quoted.includes('+') ? '+news' : '';
      expect([quoted, await found(`${quoted}@${g.domain}`)]).toEqual([quoted, [`${alice.id} alice${tag}@${g.domain}`]]);
    }
    // what quoting cannot make a plain local part matches no mailbox; a broken quote neither
    for (const odd of ['"al ice"', '"alice', 'alice"', '"a"lice"', '"alice\\"', '""'])
      expect([odd, await found(`${odd}@${g.domain}`)]).toEqual([odd, '550 5.1.1']);
  });

  it('refuses name+tag as it refuses name: disabled, over quota, unknown, not hosted', async () => {
    const g = await createFixture(prisma);
    await g.mailbox('off', { enabled: false });
    await g.mailbox('full', { quotaBytes: 0 });
    const reply = async (rcpt: string) => {
      const r = await svc.resolveRecipient(rcpt);
      return r.ok ? r.kind : `${r.reply.code} ${r.reply.status}`;
    };
    expect(await reply(`off+x@${g.domain}`)).toBe('550 5.2.1');
    expect(await reply(`full+x@${g.domain}`)).toBe('452 4.2.2');
    expect(await reply(`nobody+x@${g.domain}`)).toBe('550 5.1.1');
    expect(await reply('alice+x@not-hosted.example')).toBe('550 5.7.1');
    // another tenant's domain: name+tag@ there is looked up there, never in the domain that has a mailbox name
    const other = await createFixture(prisma);
    await g.mailbox('alice');
    expect(await reply(`alice+x@${other.domain}`)).toBe('550 5.1.1');
  });

  it('delivers name@an alias domain as name@its target: mailbox, alias, subaddress, catch-all, refusals', async () => {
    const g = await createFixture(prisma);
    const alice = await g.mailbox('alice');
    const team = await g.mailbox('team-box');
    await g.alias('sales', [team.id]);
    await g.mailbox('off', { enabled: false });
    await g.mailbox('full', { quotaBytes: 0 });
    const alias = await g.domainRow({ aliasOf: g.domainId });
    const where = async (rcpt: string) => {
      const r = await svc.resolveRecipient(rcpt);
      return r.ok ? [r.kind, ...r.targets.map((t) => `${t.mailboxId} ${t.address}`)] : [r.reply.code, r.reply.status];
    };
    const at = `@${alias.name}`;
    // Delivered-To names the address as written, in the alias domain
    expect(await where(`Alice${at.toUpperCase()}`)).toEqual(['mailbox', `${alice.id} alice${at}`]);
    expect(await where(`alice+news${at}`)).toEqual(['mailbox', `${alice.id} alice+news${at}`]);
    expect(await where(`sales${at}`)).toEqual(['alias', `${team.id} team-box@${g.domain}`]);
    expect(await where(`off${at}`)).toEqual([550, '5.2.1']);
    expect(await where(`full${at}`)).toEqual([452, '4.2.2']);
    expect(await where(`nobody${at}`)).toEqual([550, '5.1.1']);
    // the target's catch-all takes what nothing else does
    const catcher = await g.mailbox('catcher');
    await g.alias(null, [catcher.id]);
    expect(await where(`nobody${at}`)).toEqual(['catch-all', `${catcher.id} catcher@${g.domain}`]);
    // re-pointed at another domain of the owner, its next recipient is looked up there; made a domain of its own, it
    // hosts nothing until it has mailboxes
    const other = await g.domainRow();
    const otherAlice = await g.mailbox('alice', { domainId: other.id });
    await prisma.domain.update({ where: { id: alias.id }, data: { aliasOfId: other.id } });
    expect(await where(`alice${at}`)).toEqual(['mailbox', `${otherAlice.id} alice${at}`]);
    expect(await where(`sales${at}`)).toEqual([550, '5.1.1']);
    await prisma.domain.update({ where: { id: alias.id }, data: { aliasOfId: null } });
    expect(await where(`alice${at}`)).toEqual([550, '5.1.1']);
    await prisma.domain.update({ where: { id: alias.id }, data: { aliasOfId: g.domainId } });
    // a disabled alias domain, or a disabled target, refuses its mail
    await prisma.domain.update({ where: { id: alias.id }, data: { active: false } });
    expect(await where(`alice${at}`)).toEqual([550, '5.2.1']);
    await prisma.domain.update({ where: { id: alias.id }, data: { active: true } });
    await prisma.domain.update({ where: { id: g.domainId }, data: { active: false } });
    expect(await where(`alice${at}`)).toEqual([550, '5.2.1']);
    await prisma.domain.update({ where: { id: g.domainId }, data: { active: true } });
    // a pending (unverified) alias domain hosts nothing
    await prisma.domain.update({
      where: { id: alias.id },
      data: { verifiedAt: null, verificationToken: 't', claimExpiresAt: new Date(Date.now() + 3_600_000) },
    });
    expect(await where(`alice${at}`)).toEqual([550, '5.7.1']);
  });

  it('abuse: an alias domain can only point at a domain of its own owner (the database refuses another tenant)', async () => {
    const mine = await createFixture(prisma);
    const theirs = await createFixture(prisma);
    await theirs.mailbox('alice');
    await expect(mine.domainRow({ aliasOf: theirs.domainId })).rejects.toThrow(/foreign key/i);
    // a transfer of the target carries the alias domain along, so the two never part
    const alias = await mine.domainRow({ aliasOf: mine.domainId });
    await prisma.domain.update({ where: { id: mine.domainId }, data: { ownerId: theirs.ownerId } });
    expect((await prisma.domain.findUniqueOrThrow({ where: { id: alias.id } })).ownerId).toBe(theirs.ownerId);
    // moving the alias domain alone is refused
    await expect(prisma.domain.update({ where: { id: alias.id }, data: { ownerId: mine.ownerId } })).rejects.toThrow(/foreign key/i);
  });

  it('refuses a full mailbox at RCPT time with the configured quota reply', async () => {
    const m = await f.mailbox('full', { quotaBytes: 0 });
    expect(await svc.resolveRecipient(m.address)).toMatchObject({ ok: false, reply: { code: 452, status: '4.2.2' } });
    const perm = new DeliveryService(prisma, { quotaReply: 'permanent' });
    expect(await perm.resolveRecipient(m.address)).toMatchObject({ ok: false, reply: { code: 552, status: '5.2.2' } });
  });
});

describe('deliverMessage', () => {
  it('stores byte-exact after the trace fields and keeps counters exact', async () => {
    const f = await createFixture(prisma);
    const m = await f.mailbox('bob');
    const res = await deliverMessage(prisma, { from: 'a@example.org', recipients: [m.address], raw: 'Subject: x\n\nbare LF body\n.dot\n' });
    expect(res.recipients[0]).toMatchObject({ ok: true });
    const s = await mailboxState(prisma, m.id);
    expect(s.messages).toHaveLength(1);
    const stored = Buffer.from(s.messages[0]!.raw);
    const { trace, message } = splitTraceFields(stored);
    expect(message.toString()).toBe('Subject: x\r\n\r\nbare LF body\r\n.dot\r\n');
    expect(trace.toString()).toMatch(/^Return-Path: <a@example.org>\r\nDelivered-To: bob@.*\r\nReceived: from /);
    expect(s.messages[0]!.sizeOctets).toBe(stored.length);
    expect(s.usedBytes).toBe(BigInt(stored.length));
    expect(await domainUsedBytes(prisma, f.domainId)).toBe(BigInt(stored.length));
    expect(s.messages[0]!.uid).toBe(1);
    expect(s.messages[0]!.uidl).toMatch(/^[\x21-\x7e]{1,70}$/);
  });

  it('fans an alias out to its mailboxes and stores each once', async () => {
    const f = await createFixture(prisma);
    const a = await f.mailbox('a');
    const b = await f.mailbox('b');
    await f.alias('team', [a.id, b.id]);
    const res = await deliverMessage(prisma, { from: 'x@example.org', recipients: [`team@${f.domain}`, `A@${f.domain}`], raw: MSG });
    expect(res.recipients.map((r) => r.ok)).toEqual([true, true]);
    expect((await mailboxState(prisma, a.id)).messageCount).toBe(1);
    expect((await mailboxState(prisma, b.id)).messageCount).toBe(1);
  });

  it('sends unknown local parts to the catch-all, but a real mailbox wins', async () => {
    const f = await createFixture(prisma);
    const c = await f.mailbox('catcher');
    const real = await f.mailbox('real');
    await f.alias(null, [c.id]);
    const res = await deliverMessage(prisma, { from: '', recipients: [`whoever@${f.domain}`, `Real@${f.domain}`], raw: MSG });
    expect(res.recipients.map((r) => r.ok)).toEqual([true, true]);
    expect((await mailboxState(prisma, c.id)).messageCount).toBe(1);
    expect((await mailboxState(prisma, real.id)).messageCount).toBe(1);
    const stored = Buffer.from((await mailboxState(prisma, c.id)).messages[0]!.raw).toString();
    expect(stored).toMatch(/^Return-Path: <>\r\nDelivered-To: catcher@/);
  });

  it('refuses a message that crosses the mailbox quota and leaves usage untouched', async () => {
    const f = await createFixture(prisma);
    const body = normalizeCrlf(MSG);
    const m = await f.mailbox('q', { quotaBytes: 1000 + body.length });
    const first = await deliverMessage(prisma, { from: 'x@example.org', recipients: [m.address], raw: MSG });
    expect(first.recipients[0]!.ok).toBe(true);
    const before = await mailboxState(prisma, m.id);
    const second = await deliverMessage(prisma, { from: 'x@example.org', recipients: [m.address], raw: `${MSG}${'y'.repeat(900)}\r\n` });
    expect(second.recipients[0]).toMatchObject({ ok: false, reply: { code: 452, status: '4.2.2' } });
    const after = await mailboxState(prisma, m.id);
    expect(after.usedBytes).toBe(before.usedBytes);
    expect(after.nextUid).toBe(before.nextUid);
    expect(after.messages).toHaveLength(1);
  });

  it('refuses a message over the domain storage limit and rolls back the mailbox update', async () => {
    const f = await createFixture(prisma, { maxStorageBytes: 600 });
    const m = await f.mailbox('d');
    const res = await deliverMessage(prisma, { from: 'x@example.org', recipients: [m.address], raw: `${MSG}${'z'.repeat(500)}\r\n` });
    expect(res.recipients[0]).toMatchObject({ ok: false, reply: { code: 452, status: '4.2.2', text: expect.stringMatching(/Domain/) } });
    const s = await mailboxState(prisma, m.id);
    expect(s).toMatchObject({ usedBytes: 0n, messageCount: 0, nextUid: 1 });
    expect(await domainUsedBytes(prisma, f.domainId)).toBe(0n);
  });

  it('keeps UIDs unique and usage exact under concurrent deliveries to one mailbox', async () => {
    const f = await createFixture(prisma);
    const m = await f.mailbox('busy');
    const N = 30;
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        deliverMessage(prisma, { from: 'x@example.org', recipients: [m.address], raw: `Subject: ${i}\r\n\r\n${'x'.repeat(i * 10)}\r\n` }),
      ),
    );
    expect(results.every((r) => r.recipients[0]!.ok)).toBe(true);
    const s = await mailboxState(prisma, m.id);
    expect(s.messages.map((x) => x.uid)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(s.messageCount).toBe(N);
    expect(s.nextUid).toBe(N + 1);
    const sum = s.messages.reduce((acc, x) => acc + x.sizeOctets, 0);
    expect(s.usedBytes).toBe(BigInt(sum));
    expect(await domainUsedBytes(prisma, f.domainId)).toBe(BigInt(sum));
    expect(new Set(s.messages.map((x) => x.uidl)).size).toBe(N);
  });
});

describe('group commit', () => {
  const request = (targets: { id: string; address: string }[], domainId: string, body: string): StoreRequest => ({
    targets: targets.map((t) => ({ mailboxId: t.id, domainId, address: t.address })),
    body: normalizeCrlf(body),
    envelopeFrom: 'x@example.org',
    rcptTo: targets[0]!.address,
    queueId: 'TESTQUEUEID1',
    helo: 'test',
    remoteAddress: '127.0.0.1',
    protocol: 'LMTP',
  });
  /** A request whose body is stored in parts (a batch of large bodies). */
  const largeRequest = (target: { id: string; address: string }, domainId: string, n: number): StoreRequest => ({
    ...request([target], domainId, ''),
    body: normalizeCrlf(`Subject: ${n}\r\n\r\n${'w'.repeat(PARTS_MIN_BODY_OCTETS)}\r\n`),
  });

  it.each(['small', 'large'] as const)(
    'answers a committed batch once when an observer throws after the commit: nothing stored twice, the error reported (%s bodies)',
    async (kind) => {
      const f = await createFixture(prisma);
      const a = await f.mailbox('obs-a');
      const b = await f.mailbox('obs-b');
      const errors: unknown[] = [];
      let calls = 0;
      const svc = new DeliveryService(prisma, {
        onBatch: () => {
          if (++calls === 1) throw new Error('metrics broke');
        },
        onError: (e) => errors.push(e),
      });
      const body = (n: number) => `Subject: ${n}\r\n\r\n${kind === 'large' ? 'x'.repeat(PARTS_MIN_BODY_OCTETS) : 'small'}\r\n`;
      const results = await Promise.all([svc.store(request([a], f.domainId, body(1))), svc.store(request([b], f.domainId, body(2)))]);
      expect(results.every((r) => r.ok)).toBe(true);
      for (const m of [a, b]) {
        const s = await mailboxState(prisma, m.id);
        expect(s.messages).toHaveLength(1);
        expect(s.nextUid).toBe(2);
        expect(s.usedBytes).toBe(BigInt(s.messages[0]!.sizeOctets));
      }
      expect(errors).toEqual([expect.objectContaining({ message: 'metrics broke' })]);
      // and the service goes on storing
      expect((await svc.store(request([a], f.domainId, body(3)))).ok).toBe(true);
      expect((await mailboxState(prisma, a.id)).messages).toHaveLength(2);
    },
  );

  it('stores concurrent requests in shared transactions with consecutive UIDs per mailbox', async () => {
    const f = await createFixture(prisma);
    const a = await f.mailbox('a');
    const b = await f.mailbox('b');
    const batches: BatchInfo[] = [];
    const svc = new DeliveryService(prisma, { onBatch: (x) => batches.push(x) });
    const results = await Promise.all(
      Array.from({ length: 21 }, (_, i) =>
        svc.store(request(i % 3 === 0 ? [a, b] : [i % 2 ? a : b], f.domainId, `Subject: ${i}\r\n\r\n${'b'.repeat(i)}\r\n`)),
      ),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(batches.length).toBeLessThan(21);
    expect(batches.every((x) => x.outcome === 'committed')).toBe(true);
    for (const m of [a, b]) {
      const s = await mailboxState(prisma, m.id);
      expect(s.messages.map((x) => x.uid)).toEqual(Array.from({ length: s.messages.length }, (_, i) => i + 1));
      expect(s.usedBytes).toBe(BigInt(s.messages.reduce((acc, x) => acc + x.sizeOctets, 0)));
      expect(s.nextUid).toBe(s.messages.length + 1);
    }
    const total = (await mailboxState(prisma, a.id)).usedBytes + (await mailboxState(prisma, b.id)).usedBytes;
    expect(await domainUsedBytes(prisma, f.domainId)).toBe(total);
  });

  it.each([
    ['small messages', 800],
    ['messages over 1 MiB', 1_100_000],
  ])('refuses only the request that crosses a quota when it shares a batch with others (%s)', async (_label, bigSize) => {
    const f = await createFixture(prisma);
    const roomy = await f.mailbox('roomy');
    const tight = await f.mailbox('tight', { quotaBytes: 700 });
    const batches: BatchInfo[] = [];
    const svc = new DeliveryService(prisma, { onBatch: (x) => batches.push(x) });
    const small = 'Subject: s\r\n\r\nsmall\r\n';
    const big = `Subject: b\r\n\r\n${'x'.repeat(bigSize)}\r\n`;
    const results = await Promise.all([
      svc.store(request([roomy], f.domainId, small)),
      svc.store(request([roomy], f.domainId, small)),
      svc.store(request([tight], f.domainId, big)),
      svc.store(request([roomy, tight], f.domainId, big)),
      svc.store(request([tight], f.domainId, small)),
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true, false, false, true]);
    expect(results[2]).toMatchObject({ ok: false, reply: { code: 452, status: '4.2.2' } });
    expect(batches.some((x) => x.outcome === 'refused')).toBe(true);
    expect(batches.some((x) => x.outcome === 'failed')).toBe(false);
    expect((await mailboxState(prisma, roomy.id)).messages.map((m) => m.uid)).toEqual([1, 2]);
    const t = await mailboxState(prisma, tight.id);
    expect(t.messages).toHaveLength(1);
    expect(t.usedBytes).toBe(BigInt(t.messages[0]!.sizeOctets));
    const sum = (await mailboxState(prisma, roomy.id)).usedBytes + t.usedBytes;
    expect(await domainUsedBytes(prisma, f.domainId)).toBe(sum);
  });

  it('stores every body of a group commit byte for byte (any octet, small and over 1 MiB, copies sharing one body)', async () => {
    const f = await createFixture(prisma);
    const a = await f.mailbox('bin-a');
    const b = await f.mailbox('bin-b');
    const batches: BatchInfo[] = [];
    const svc = new DeliveryService(prisma, { onBatch: (x) => batches.push(x) });
    const octets = Buffer.alloc(256 * 8);
    for (let i = 0; i < octets.length; i++) octets[i] = i % 256;
    const small = Buffer.concat([Buffer.from('Subject: s\r\n\r\n'), octets]);
    const big = Buffer.concat([Buffer.from('Subject: b\r\n\r\n'), Buffer.alloc(1_200_000, 0xff), octets]);
    const bodies = [small, big, small, big];
    const results = await Promise.all(bodies.map((body, i) => svc.store({ ...request(i === 3 ? [a, b] : [a], f.domainId, ''), body })));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(batches.every((x) => x.outcome === 'committed')).toBe(true);
    const stored = [...(await mailboxState(prisma, a.id)).messages, ...(await mailboxState(prisma, b.id)).messages];
    expect(stored).toHaveLength(5);
    const want = (id: string) => {
      const i = results.findIndex((r) => r.ok && r.copies.some((c) => c.messageId === id));
      return bodies[i]!;
    };
    for (const m of stored) {
      const raw = Buffer.from(m.raw);
      expect(splitTraceFields(raw).message.equals(want(m.id))).toBe(true);
      expect(m.sizeOctets).toBe(raw.length);
    }
  });

  it('abuse: two ingress replicas storing requests that span two domains in every order never deadlock; usage stays exact', async () => {
    const f1 = await createFixture(prisma);
    const f2 = await createFixture(prisma);
    const boxes = [
      { ...(await f1.mailbox('x1')), domainId: f1.domainId },
      { ...(await f1.mailbox('y1')), domainId: f1.domainId },
      { ...(await f2.mailbox('x2')), domainId: f2.domainId },
      { ...(await f2.mailbox('y2')), domainId: f2.domainId },
    ];
    const batches: BatchInfo[] = [];
    // two services, as two ingress processes on one database: their batches run at the same time
    const services = [0, 1].map(() => new DeliveryService(prisma, { onBatch: (x) => batches.push(x) }));
    // each request names its mailboxes in a different order (mailbox rows are locked in id order whatever the order here)
    const orders = [[0, 2], [3, 1], [2, 0, 3], [1, 3, 0, 2], [3], [2, 1]];
    for (let wave = 0; wave < 3; wave++) {
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => {
          const targets = orders[(i + wave) % orders.length]!.map((k) => boxes[k]!);
          const req = request(targets, targets[0]!.domainId, `Subject: ${wave}.${i}\r\n\r\n${'z'.repeat(i * 50)}\r\n`);
          req.targets = targets.map((t) => ({ mailboxId: t.id, domainId: t.domainId, address: t.address }));
          return services[i % 2]!.store(req);
        }),
      );
      expect(results.every((r) => r.ok)).toBe(true);
    }
    expect(batches.length).toBeGreaterThan(3);
    // a deadlock would fail a batch (its requests then stored one by one)
    expect(batches.filter((x) => x.outcome !== 'committed')).toEqual([]);
    for (const [f, pair] of [
      [f1, boxes.slice(0, 2)],
      [f2, boxes.slice(2)],
    ] as const) {
      let sum = 0n;
      for (const m of pair) {
        const st = await mailboxState(prisma, m.id);
        expect(st.messages.map((x) => x.uid)).toEqual(Array.from({ length: st.messages.length }, (_, i) => i + 1));
        expect(st.usedBytes).toBe(BigInt(st.messages.reduce((acc, x) => acc + x.sizeOctets, 0)));
        sum += st.usedBytes;
      }
      expect(await domainUsedBytes(prisma, f.domainId)).toBe(sum);
    }
  });

  it('stores large bodies in parts (raw = trace fields) on both storage paths, byte-exact beside small ones; usage exact', async () => {
    const f = await createFixture(prisma);
    const a = await f.mailbox('big-a');
    const b = await f.mailbox('big-b');
    const line = (i: number) => `line ${i} ${'x'.repeat(i % 97)}\r\n`;
    const text = (n: number, first = 'Subject: big') => {
      let out = `${first}\r\n\r\n`;
      for (let i = 0; out.length < n; i++) out += line(i);
      return out;
    };
    const bodies = [
      text(PARTS_MIN_BODY_OCTETS), // exactly at the threshold once normalised: in parts
      text(PARTS_MIN_BODY_OCTETS - 200), // just under it: whole
      text(1_100_000) + '.a dot line\r\n',
      'Subject: small\r\n\r\nhi\r\n',
      text(300_000),
    ];
    const expectStored = async (reqs: StoreRequest[]) => {
      for (const box of [a, b]) {
        const st = await mailboxState(prisma, box.id);
        const mine = reqs.filter((r) => r.targets.some((t) => t.mailboxId === box.id));
        expect(st.messages).toHaveLength(mine.length);
        for (const m of st.messages) {
          const { trace, message } = splitTraceFields(Buffer.from(m.raw));
          const body = mine.find((r) => r.body.equals(message));
          expect(body, `message uid ${m.uid} of ${box.address}`).toBeDefined();
          const inParts = body!.body.length >= PARTS_MIN_BODY_OCTETS;
          // in parts, messages.raw holds exactly the trace fields
          expect(Buffer.from(m.head).equals(inParts ? trace : Buffer.from(m.raw))).toBe(true);
          expect(m.parts).toBe(inParts ? Math.ceil(body!.body.length / MESSAGE_PART_OCTETS) : 0);
          expect(m.sizeOctets).toBe(m.raw.length);
          expect(m.dotLines).toBe(/(^|\n)\./.test(body!.body.toString('latin1')));
        }
        expect(st.usedBytes).toBe(BigInt(st.messages.reduce((n, m) => n + m.sizeOctets, 0)));
      }
    };

    // group commits: all at once (mixed batches, and batches of large bodies only), two of them fanned out to both
    const svc = new DeliveryService(prisma);
    const batched = [...bodies, ...bodies.slice(2)].map((raw, i) => ({
      ...request(i < 2 ? [a, b] : [i % 2 ? a : b], f.domainId, ''),
      body: normalizeCrlf(raw),
    }));
    expect((await Promise.all(batched.map((r) => svc.store(r)))).every((r) => r.ok)).toBe(true);
    await expectStored(batched);

    // the same batches with unnamed statements (DATABASE_PREPARED_STATEMENTS=false, for a transaction-pooling PgBouncer)
    const unnamedSvc = new DeliveryService(prisma, { preparedStatements: false });
    const unnamed = [...bodies, ...bodies.slice(2)].map((raw, i) => ({
      ...request(i < 2 ? [a, b] : [i % 2 ? a : b], f.domainId, ''),
      body: normalizeCrlf(raw),
    }));
    expect((await Promise.all(unnamed.map((r) => unnamedSvc.store(r)))).every((r) => r.ok)).toBe(true);
    await expectStored([...batched, ...unnamed]);

    // one request at a time in its own transaction (the path that finds a refusal's reason)
    const single = bodies.map((raw) => ({ ...request([a, b], f.domainId, ''), body: normalizeCrlf(raw) }));
    for (const r of single) await deliverMessage(prisma, { from: 'x@example.org', recipients: [a.address, b.address], raw: r.body });
    await expectStored([...batched, ...unnamed, ...single]);
    expect(await domainUsedBytes(prisma, f.domainId)).toBe(
      (await mailboxState(prisma, a.id)).usedBytes + (await mailboxState(prisma, b.id)).usedBytes,
    );
  });

  it('keeps the connections of large bodies for the next such batch; gives them back when idle, when a checkout queues, on close, and when the server ends one', async () => {
    const own = createPrismaClient(testDatabaseUrl(), { maxConnections: 6, applicationName: 'ingress-warm-test' });
    const pool = pgPoolOf(own)!;
    // the pool reports an idle connection the server ended as an 'error' event (an unhandled one would throw)
    pool.on('error', () => undefined);
    const connect = pool.connect.bind(pool);
    let connects = 0;
    pool.connect = ((...args: Parameters<typeof pool.connect>) => {
      connects++;
      return (connect as (...a: unknown[]) => unknown)(...args);
    }) as typeof pool.connect;
    try {
      const f = await createFixture(own);
      const a = await f.mailbox('warm');
      const big = (n: number) => largeRequest(a, f.domainId, n);
      const small = (n: number) => request([a], f.domainId, `Subject: small ${n}\r\n\r\nhi\r\n`);
      // kept for 1 s after the last such batch here (five minutes by default)
      const svc = new DeliveryService(own, { keepConnectionsMs: 1_000 });

      // one after another: every batch of large bodies after the first runs on the kept connection
      connects = 0;
      for (let i = 0; i < 4; i++) expect((await svc.store(big(i))).ok).toBe(true);
      expect(connects).toBe(1);
      expect(svc.warmConnections).toBe(1);
      // small bodies do not take it (their statement runs on the pool)
      expect((await svc.store(small(1))).ok).toBe(true);
      expect(svc.warmConnections).toBe(1);
      // several at once: at most two kept (as many as batches in flight)
      for (let round = 0; round < 2; round++)
        expect((await Promise.all([5, 6, 7, 8, 9].map((i) => svc.store(big(i + round * 10))))).every((r) => r.ok)).toBe(true);
      expect(svc.warmConnections).toBeGreaterThanOrEqual(1);
      expect(svc.warmConnections).toBeLessThanOrEqual(2);

      // given back to the pool after 1 s without a batch of large bodies
      await expect.poll(() => svc.warmConnections, { timeout: 10_000, interval: 100 }).toBe(0);
      expect(pool.idleCount).toBe(pool.totalCount);

      // abuse: the server ends the kept connection (an administrator's pg_terminate_backend, a restart): given back as
      // broken, no unhandled error, and the next batch stores on a fresh connection
      expect((await svc.store(big(30))).ok).toBe(true);
      expect(svc.warmConnections).toBe(1);
      await prisma.$queryRaw`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ingress-warm-test'`;
      await expect.poll(() => svc.warmConnections, { timeout: 5_000, interval: 50 }).toBe(0);
      // (the pool's own idle connections were ended too: the batch may fail on one and be stored again on its own)
      expect((await svc.store(big(31))).ok).toBe(true);
      expect((await svc.store(big(32))).ok).toBe(true);
      expect(svc.warmConnections).toBe(1);

      // none is kept while others wait for the pool: a caller holds every connection, the batch waits for one, and
      // so does the caller once more
      await expect.poll(() => svc.warmConnections, { timeout: 10_000, interval: 100 }).toBe(0);
      const held = await Promise.all(Array.from({ length: 6 }, () => pool.connect()));
      const stored = svc.store(big(40));
      await expect.poll(() => pool.waitingCount).toBe(1);
      const waiting = pool.connect();
      expect(pool.waitingCount).toBe(2);
      held.pop()!.release(); // the batch takes it, and must not keep it from the caller waiting after it
      expect((await stored).ok).toBe(true);
      expect(svc.warmConnections).toBe(0);
      (await waiting).release();
      for (const c of held) c.release();

      // a kept connection goes to a checkout that queues at once, not when the linger ends (five minutes by default)
      const patient = new DeliveryService(own);
      expect((await patient.store(big(41))).ok).toBe(true);
      expect(patient.warmConnections).toBe(1);
      const others = await Promise.all(Array.from({ length: 5 }, () => pool.connect()));
      expect(pool.totalCount).toBe(6);
      const queued = pool.connect();
      expect(patient.warmConnections).toBe(0);
      (await queued).release();
      for (const c of others) c.release();
      patient.close();

      // ending the pool gives kept connections back (its end() waits for every checked-out one): a service nobody closes
      // does not hold up a shutdown for the linger
      const unclosed = createPrismaClient(testDatabaseUrl(), { maxConnections: 2, applicationName: 'ingress-warm-test-end' });
      const forgotten = new DeliveryService(unclosed);
      expect((await forgotten.store(big(42))).ok).toBe(true);
      expect(forgotten.warmConnections).toBe(1);
      await pgPoolOf(unclosed)!.end();
      expect(forgotten.warmConnections).toBe(0);
      await unclosed.$disconnect();

      // close gives it back at once, and no later batch keeps one
      svc.close();
      expect(svc.warmConnections).toBe(0);
      expect(pool.idleCount).toBe(pool.totalCount);
      expect((await svc.store(big(33))).ok).toBe(true);
      expect(svc.warmConnections).toBe(0);
      // keepConnections: false (the API's imports) never keeps one
      const noKeep = new DeliveryService(own, { keepConnections: false });
      expect((await noKeep.store(big(34))).ok).toBe(true);
      expect(noKeep.warmConnections).toBe(0);
      const st = await mailboxState(own, a.id);
      expect(st.messages).toHaveLength(23);
      expect(st.usedBytes).toBe(BigInt(st.messages.reduce((n, m) => n + m.sizeOctets, 0)));
    } finally {
      await own.$disconnect();
    }
  });

  it('stores at most two batches of large bodies at once; the ones after them wait their turn and are all stored', async () => {
    const own = createPrismaClient(testDatabaseUrl(), { maxConnections: 8, applicationName: 'ingress-in-flight-test' });
    const holder = await pgPoolOf(prisma)!.connect();
    // (kept connections would hold up own.$disconnect for their linger if an assertion failed before close)
    const svc = new DeliveryService(own);
    try {
      const f = await createFixture(own);
      const a = await f.mailbox('inflight');
      const big = (n: number) => largeRequest(a, f.domainId, n);
      // the mailbox's row is held elsewhere, so every batch that starts copies its parts and then waits for the row
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM mailboxes WHERE id = $1 FOR UPDATE', [a.id]);
      // (asked on another connection than the holder's, whose transaction would see one snapshot)
      const waiting = async () => (await lockWaiters(pgPoolOf(prisma)!, 'ingress-in-flight-test')).length;
      const stored: Promise<Awaited<ReturnType<typeof svc.store>>>[] = [];
      // one request at a time, each given the chance to start its own batch
      for (let i = 0; i < 5; i++) {
        stored.push(svc.store(big(i)));
        await expect.poll(waiting, { timeout: 10_000, interval: 20 }).toBe(Math.min(i + 1, 2));
      }
      // the third batch has had every chance to start (a cap of three would show three waiting by now)
      await new Promise((r) => setTimeout(r, 300));
      expect(await waiting()).toBe(2);
      await holder.query('ROLLBACK');
      const results = await Promise.all(stored);
      expect(results.every((r) => r.ok)).toBe(true);
      const st = await mailboxState(own, a.id);
      expect(st.messages.map((m) => m.uid).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      svc.close();
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
      await own.$disconnect();
    }
  });

  it('abuse: a batch refused over quota leaves no parts behind; the requests that fit are stored', async () => {
    const f = await createFixture(prisma);
    const small = await f.mailbox('small-quota', { quotaBytes: 200_000n });
    const roomy = await f.mailbox('roomy');
    const big = (tag: string) => normalizeCrlf(`Subject: ${tag}\r\n\r\n${'y'.repeat(150_000)}\r\n`);
    const batches: BatchInfo[] = [];
    const svc = new DeliveryService(prisma, { onBatch: (x) => batches.push(x) });
    const reqs = ['1', '2', '3'].map((t, i) => ({ ...request([i === 2 ? roomy : small], f.domainId, ''), body: big(t) }));
    const results = await Promise.all(reqs.map((r) => svc.store(r)));
    // the mailbox takes one 150 KB message, not two; the roomy one takes its own
    expect(results.map((r) => r.ok).sort()).toEqual([false, true, true]);
    const ids = (await prisma.message.findMany({ where: { mailboxId: { in: [small.id, roomy.id] } } })).map((m) => m.id);
    expect(ids).toHaveLength(2);
    const orphans = await prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM message_parts p WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = p.message_id)`;
    expect(Number(orphans[0]!.n)).toBe(0);
    expect((await mailboxState(prisma, small.id)).usedBytes).toBe(BigInt((await mailboxState(prisma, small.id)).messages[0]!.sizeOctets));
  });

  it('records whether a stored message has a line starting with "." (messages.dot_lines), on both storage paths', async () => {
    const f = await createFixture(prisma);
    const m = await f.mailbox('dots');
    const bodies = ['Subject: plain\r\n\r\nno dot. at all.\r\n', 'Subject: d\r\n\r\nx\r\n.dot line\r\n', '.\r\n'];
    // one request at a time (a transaction per request)
    for (const raw of bodies) await deliverMessage(prisma, { from: 'a@example.org', recipients: [m.address], raw });
    // and concurrently, through the group commit (one statement per batch)
    const svc = new DeliveryService(prisma);
    const fanned = bodies.map((raw) => ({ ...request([m], f.domainId, ''), body: normalizeCrlf(raw) }));
    expect((await Promise.all(fanned.map((r) => svc.store(r)))).every((r) => r.ok)).toBe(true);
    // (several batches may be in flight at once, so the concurrent three take their UIDs in any order)
    const stored = (await mailboxState(prisma, m.id)).messages;
    const flags = (list: typeof stored) =>
      list.map((x) => `${splitTraceFields(Buffer.from(x.raw)).message.toString('latin1').slice(0, 12)}:${x.dotLines}`).sort();
    const expected = ['Subject: pla:false', 'Subject: d\r\n:true', '.\r\n:true'].sort();
    expect(flags(stored.slice(0, 3))).toEqual(expected);
    expect(flags(stored.slice(3))).toEqual(expected);
  });
});
