import { randomBytes } from 'node:crypto';
import type { PrismaClient } from '@mailroom/db';
import { describe, expect, it } from 'vitest';
import type { PrismaMaildropStore } from '../src/prisma-store.ts';
import { LockLostError, MessageGoneError } from '../src/store.ts';
import { createMaildrop, deliver, deliverInParts, poolOf, testStore, useTestDatabase } from './helpers.ts';
import { MESSAGE_PART_OCTETS, splitWholeMessages } from '@mailroom/db';

let prisma: PrismaClient;
useTestDatabase((opened) => (prisma = opened));

/** The fetch path (no pg pool): messages are read in chunks through Prisma queries. */
const store = (chunkOctets?: number, prefetchChunks?: number) => testStore(prisma, { pool: undefined, chunkOctets, prefetchChunks });

/** The COPY path main.ts uses (the pg pool under the Prisma client). */
const copyStore = (chunkOctets?: number) => testStore(prisma, { chunkOctets });

async function readAll(s: PrismaMaildropStore, mailboxId: string, msg: { id: string; uid: number; uidl: string; size: number }) {
  const parts: Buffer[] = [];
  for await (const c of s.readMessage(mailboxId, msg)) parts.push(c);
  return Buffer.concat(parts);
}

describe('PrismaMaildropStore', () => {
  it('streams arbitrary octets exactly, whatever the chunking (text and base64 transfer mixed)', async () => {
    const md = await createMaildrop(prisma);
    const ascii = Buffer.from('Subject: x\r\n\r\n' + 'plain ascii line\r\n'.repeat(500));
    const binary = randomBytes(200_000); // every octet value, NULs included
    const mixed = Buffer.concat([ascii, Buffer.from([0]), ascii, Buffer.from('\xe9\xff\x80', 'latin1'), ascii]);
    const small = Buffer.concat([Buffer.from('Subject: s\r\n\r\nab'), Buffer.from([0, 0xff, 0x80, 0x0d, 0x0a]), randomBytes(300)]);
    const all = [ascii, binary, mixed, small, Buffer.alloc(0)];
    for (const raw of all) await deliver(prisma, md.mailboxId, raw);
    const list = await store().listMessages(md.mailboxId);
    expect(list.map((m) => m.size)).toEqual(all.map((r) => r.length));
    for (const [chunk, prefetch] of [
      [1, 0],
      [7, 2],
      [4096, 3],
      [1 << 20, 1],
    ] as const) {
      const s = store(chunk, prefetch);
      for (const [i, raw] of all.entries()) {
        if (chunk < 100 && raw.length > 1000) continue; // one query per few octets: keep it short
        expect((await readAll(s, md.mailboxId, list[i]!)).equals(raw)).toBe(true);
      }
    }
  });

  it('streams arbitrary octets exactly over COPY, whatever the row size', async () => {
    const md = await createMaildrop(prisma);
    const ascii = Buffer.from('Subject: x\r\n\r\n' + 'plain ascii line\r\n'.repeat(500));
    const binary = randomBytes(3_000_000); // every octet value, NULs included; several default-size rows
    const mixed = Buffer.concat([ascii, Buffer.from([0]), ascii, Buffer.from('\xe9\xff\x80', 'latin1'), ascii]);
    const all = [ascii, binary, mixed, Buffer.alloc(0)];
    for (const raw of all) await deliver(prisma, md.mailboxId, raw);
    const list = await copyStore().listMessages(md.mailboxId);
    for (const chunk of [undefined, 1, 7, 4096]) {
      const s = copyStore(chunk);
      for (const [i, raw] of all.entries()) {
        if (chunk !== undefined && chunk < 100 && raw.length > 100_000) continue;
        expect((await readAll(s, md.mailboxId, list[i]!)).equals(raw)).toBe(true);
      }
    }
  });

  it('reads messages stored in parts (raw + message_parts) exactly on both paths, whatever the chunking', async () => {
    const md = await createMaildrop(prisma);
    const P = MESSAGE_PART_OCTETS;
    const trace = Buffer.from('Return-Path: <a@example.org>\r\nReceived: from x by y; Tue, 1 Dec 2026 12:00:00 +0000\r\n');
    // octets that number their own positions (a misplaced part or a lost octet shows), then random ones
    const counting = Buffer.alloc(3 * P + 17);
    for (let i = 0; i < counting.length; i++) counting[i] = (i * 7 + (i >> 8)) & 0xff;
    const cases = [
      Buffer.concat([trace, counting]), // a short last part
      Buffer.concat([trace, randomBytes(5 * P)]), // parts that end exactly
      Buffer.concat([trace, randomBytes(700_000)]), // more than one 512 KiB COPY row
      Buffer.concat([trace, Buffer.from('x')]), // one part of one octet
    ];
    for (const raw of cases) await deliverInParts(prisma, md.mailboxId, raw, trace.length);
    // and a message stored whole beside them
    const whole = Buffer.concat([trace, randomBytes(2 * P)]);
    await deliver(prisma, md.mailboxId, whole);
    const all = [...cases, whole];
    const list = await store().listMessages(md.mailboxId);
    expect(list.map((m) => m.size)).toEqual(all.map((r) => r.length));
    const { rows } = await poolOf(prisma)!.query<{ n: string }>(
      'SELECT count(*) AS n FROM message_parts WHERE message_id = ANY($1::uuid[])',
      [list.map((m) => m.id)],
    );
    expect(Number(rows[0]!.n)).toBe(cases.reduce((n, r) => n + Math.ceil((r.length - trace.length) / P), 0));
    for (const [label, s] of [
      ['fetch 1000', store(1000, 2)],
      ['fetch part-sized', store(P, 1)],
      ['fetch straddling', store(P + 13, 3)],
      ['fetch 1 MiB', store(1 << 20, 1)],
      ['copy default', copyStore()],
      ['copy 4096', copyStore(4096)],
      ['copy straddling', copyStore(P - 5)],
      ['copy 100', copyStore(100)],
    ] as const) {
      for (const [i, raw] of all.entries()) {
        expect((await readAll(s, md.mailboxId, list[i]!)).equals(raw), `${label}: message ${i}`).toBe(true);
      }
    }
    // the SQL function operators can use gives the same octets
    const fn = await poolOf(prisma)!.query<{ b: Buffer }>('SELECT message_octets($1::uuid) AS b', [list[2]!.id]);
    expect(fn.rows[0]!.b.equals(all[2]!)).toBe(true);
  });

  it('a large message stored whole reads the same octets after splitWholeMessages moved it to parts, on both paths', async () => {
    const md = await createMaildrop(prisma);
    const body = randomBytes(300_000);
    body.write('\r\n.\r\n..dot\r\n', 5000, 'latin1');
    const raw = Buffer.concat([Buffer.from('Subject: stored whole\r\nX-Old: yes\r\n\r\n'), body]);
    await deliver(prisma, md.mailboxId, raw);
    const readers = [store(MESSAGE_PART_OCTETS + 13, 2), copyStore(), copyStore(4096)];
    const [info] = await store().listMessages(md.mailboxId);
    for (const s of readers) expect((await readAll(s, md.mailboxId, info!)).equals(raw)).toBe(true);
    expect(await splitWholeMessages(prisma, { mailboxId: md.mailboxId })).toEqual({ messages: 1, octets: raw.length, skipped: 0 });
    const { rows } = await poolOf(prisma)!.query<{ n: string }>('SELECT count(*) AS n FROM message_parts WHERE message_id = $1', [
      info!.id,
    ]);
    expect(Number(rows[0]!.n)).toBe(Math.ceil(body.length / MESSAGE_PART_OCTETS));
    expect(await store().listMessages(md.mailboxId)).toEqual([info]);
    for (const s of readers) expect((await readAll(s, md.mailboxId, info!)).equals(raw)).toBe(true);
  });

  it('COPY path with reuseChunks: exact octets from a handful of refilled buffers, not one allocation per row', async () => {
    const md = await createMaildrop(prisma);
    const raw = randomBytes(4_000_000); // 62 rows of 64 KiB
    await deliver(prisma, md.mailboxId, raw);
    const s = copyStore(64 * 1024);
    const [info] = await s.listMessages(md.mailboxId);
    const copies: Buffer[] = [];
    const memory = new Set<ArrayBuffer>();
    for await (const c of s.readMessage(md.mailboxId, info!, { reuseChunks: true })) {
      copies.push(Buffer.from(c)); // valid only until the next chunk is asked for: keep a copy
      memory.add(c.buffer as ArrayBuffer);
    }
    expect(Buffer.concat(copies).equals(raw)).toBe(true);
    expect(copies.length).toBeGreaterThan(50);
    // the queue holds at most COPY_HIGH_WATER_OCTETS (4 rows) beyond the one being written
    expect(memory.size).toBeLessThanOrEqual(8);
    // without the option every chunk is the consumer's to keep
    expect((await readAll(s, md.mailboxId, info!)).equals(raw)).toBe(true);
  });

  it('COPY path: a vanished message is gone; stopping early leaves the pool usable', async () => {
    const a = await createMaildrop(prisma);
    const b = await createMaildrop(prisma);
    const raw = randomBytes(5_000_000);
    const m = await deliver(prisma, a.mailboxId, raw);
    const s = copyStore();
    const [info] = await s.listMessages(a.mailboxId);
    await expect(readAll(s, b.mailboxId, info!)).rejects.toBeInstanceOf(MessageGoneError);
    for (let i = 0; i < 15; i++) {
      // more early stops than the pool has connections: each abandoned COPY must not leak or poison a connection
      for await (const part of s.readMessage(a.mailboxId, info!)) {
        expect(part.equals(raw.subarray(0, part.length))).toBe(true);
        break;
      }
    }
    expect((await readAll(s, a.mailboxId, info!)).equals(raw)).toBe(true);
    expect(await s.listMessages(a.mailboxId)).toHaveLength(1);
    await prisma.message.delete({ where: { id: m.id } });
    await expect(readAll(s, a.mailboxId, info!)).rejects.toBeInstanceOf(MessageGoneError);
  });

  it('reports a message that vanished, and one of another mailbox, as gone', async () => {
    const a = await createMaildrop(prisma);
    const b = await createMaildrop(prisma);
    const m = await deliver(prisma, a.mailboxId, 'Subject: a\r\n\r\nx\r\n');
    const s = store();
    const [info] = await s.listMessages(a.mailboxId);
    await expect(readAll(s, b.mailboxId, info!)).rejects.toBeInstanceOf(MessageGoneError);
    await prisma.message.delete({ where: { id: m.id } });
    await expect(readAll(s, a.mailboxId, info!)).rejects.toBeInstanceOf(MessageGoneError);
  });

  it('leases: exclusive, renewable by holder, released by their session only, and taken over once expired', async () => {
    const md = await createMaildrop(prisma);
    const s = store();
    const [h1a, h1b, h2] = [
      { holder: 'h1', session: 's1a' },
      { holder: 'h1', session: 's1b' },
      { holder: 'h2', session: 's2' },
    ];
    expect(await s.acquireLock(md.mailboxId, h1a, 60_000)).toBe(true);
    expect(await s.acquireLock(md.mailboxId, h2, 60_000)).toBe(false);
    expect(await s.acquireLock(md.mailboxId, h1b, 60_000)).toBe(false); // a second session of the same process too
    await s.releaseLock(md.mailboxId, h2.session);
    await s.releaseLock(md.mailboxId, h1b.session); // another session of the holding process cannot free it either
    expect(await s.acquireLock(md.mailboxId, h2, 60_000)).toBe(false);
    await prisma.maildropLease.update({ where: { mailboxId: md.mailboxId }, data: { expiresAt: new Date(Date.now() - 1) } });
    await s.renewLocks('h1', 60_000);
    expect(await s.acquireLock(md.mailboxId, h2, 60_000)).toBe(false); // renewed
    await prisma.maildropLease.update({ where: { mailboxId: md.mailboxId }, data: { expiresAt: new Date(Date.now() - 1) } });
    expect(await s.acquireLock(md.mailboxId, h2, 60_000)).toBe(true); // lapsed: taken over
    await expect(s.commitDeletions(md.mailboxId, h1a.session, [])).rejects.toBeInstanceOf(LockLostError);
    await s.releaseAllLocks('h2');
    expect(await prisma.maildropLease.count({ where: { mailboxId: md.mailboxId } })).toBe(0);
  });

  it('renewLocks leaves the leases of the sessions in `except` to expire and renews the others', async () => {
    const [kept, left] = [await createMaildrop(prisma), await createMaildrop(prisma)];
    const s = store();
    for (const md of [kept, left])
      expect(await s.acquireLock(md.mailboxId, { holder: 'h-except', session: md.mailboxId }, 60_000)).toBe(true);
    await prisma.maildropLease.updateMany({ where: { holder: 'h-except' }, data: { expiresAt: new Date(Date.now() - 1) } });
    await s.renewLocks('h-except', 60_000, [left.mailboxId]);
    const other = { holder: 'other', session: 'other' };
    expect(await s.acquireLock(kept.mailboxId, other, 60_000)).toBe(false); // renewed
    expect(await s.acquireLock(left.mailboxId, other, 60_000)).toBe(true); // lapsed
    await s.releaseAllLocks('h-except');
    await s.releaseAllLocks('other');
  });

  it('commitDeletions removes only the given messages of that mailbox and keeps usage exact', async () => {
    const a = await createMaildrop(prisma);
    const b = await createMaildrop(prisma);
    const a1 = await deliver(prisma, a.mailboxId, 'Subject: 1\r\n\r\n' + 'x'.repeat(100));
    const a2 = await deliver(prisma, a.mailboxId, 'Subject: 2\r\n\r\n' + 'y'.repeat(300));
    const b1 = await deliver(prisma, b.mailboxId, 'Subject: 3\r\n\r\nz');
    const s = store();
    expect(await s.acquireLock(a.mailboxId, { holder: 'h', session: 'sess-h' }, 60_000)).toBe(true);
    // another mailbox's id is ignored
    const r = await s.commitDeletions(a.mailboxId, 'sess-h', [a1.id, b1.id]);
    expect(r).toEqual({ deleted: 1, bytes: a1.raw.length });
    expect((await prisma.message.findMany({ where: { mailboxId: a.mailboxId } })).map((m) => m.id)).toEqual([a2.id]);
    expect(await prisma.message.count({ where: { id: b1.id } })).toBe(1);
    const mbx = await prisma.mailbox.findUniqueOrThrow({ where: { id: a.mailboxId } });
    expect([Number(mbx.usedBytes), mbx.messageCount]).toEqual([a2.raw.length, 1]);
    expect(Number((await prisma.domain.findUniqueOrThrow({ where: { id: a.domainId } })).usedBytes)).toBe(a2.raw.length);
    // applying the same deletion twice changes nothing
    expect(await s.commitDeletions(a.mailboxId, 'sess-h', [a1.id])).toEqual({ deleted: 0, bytes: 0 });
    await s.releaseLock(a.mailboxId, 'sess-h');
  });
});
