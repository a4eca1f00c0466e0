import { randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPrismaClientWithPool } from './client.ts';
import { MessageFramer } from './framed-socket.ts';

/** A backend message: type octet, int32 length (counting itself), body. */
const message = (type: string, body: Buffer) => {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
};

/** Splits a buffer of concatenated messages back into them. */
const split = (runs: Buffer) => {
  const out: Buffer[] = [];
  for (let pos = 0; pos < runs.length;) {
    const total = 1 + runs.readUInt32BE(pos + 1);
    out.push(runs.subarray(pos, pos + total));
    pos += total;
  }
  return out;
};

describe('MessageFramer', () => {
  it('hands over only whole messages, whatever the read boundaries, reusing its own buffer', () => {
    const all = [
      message('D', Buffer.alloc(0)),
      ...Array.from({ length: 300 }, (_, i) => message(i % 2 ? 'd' : 'D', randomBytes(randomInt(0, i % 50 === 0 ? 300_000 : 70_000)))),
    ];
    for (const maxRead of [1, 3, 5, 6, 4096, 65_536, 1 << 20]) {
      // octet-sized reads over a few small messages; larger reads over all of them
      const messages =
        maxRead < 10
          ? [
              all[0]!,
              ...all
                .slice(1)
                .filter((m) => m.length < 2000)
                .slice(0, 3),
              message('C', Buffer.from('COPY 1\0')),
            ]
          : all;
      const stream = Buffer.concat(messages);
      const seen: Buffer[] = [];
      const framer = new MessageFramer((runs) => {
        // what emit got must parse as whole messages; copy, since the framer may refill that memory afterwards
        for (const m of split(runs)) seen.push(Buffer.from(m));
      });
      for (let pos = 0; pos < stream.length;) {
        const n = Math.min(stream.length - pos, maxRead === 1 ? 1 : randomInt(1, maxRead + 1));
        framer.push(Buffer.from(stream.subarray(pos, pos + n)));
        pos += n;
      }
      expect(seen.length, `reads of up to ${maxRead}`).toBe(messages.length);
      expect(seen.every((m, i) => m.equals(messages[i]!))).toBe(true);
    }
  });

  it('refuses a length that cannot be a message', () => {
    const framer = new MessageFramer(() => undefined);
    const bad = Buffer.from([0x44, 0, 0, 0, 2]);
    expect(() => framer.push(bad)).toThrow(/bad length/);
  });
});

describe('MessageFramer claims', () => {
  /** A framer whose `emit` claims every message it can, as streamCopyRows does with rows; `got` in emit order. */
  const claiming = () => {
    const got: { message: Buffer; claimed: Buffer | undefined }[] = [];
    const framer: MessageFramer = new MessageFramer((runs) => {
      for (const m of split(runs)) got.push({ message: m, claimed: framer.claim(m) });
    });
    return { framer, got };
  };
  /** Pushes `stream` in reads of `size` octets through one reused read buffer, as createFramedSocket does. */
  const pushReads = (framer: MessageFramer, stream: Buffer, size = 50_000) => {
    const read = Buffer.alloc(size);
    for (let pos = 0; pos < stream.length; pos += size) framer.push(read.subarray(0, stream.copy(read, 0, pos, pos + size)));
  };
  const body = (octets: number) => message('d', randomBytes(octets));

  it('hands a message assembled from several reads to its claimer and assembles the next one elsewhere', () => {
    const { framer, got } = claiming();
    const a = body(200_000);
    const b = body(150_000);
    const done = message('C', Buffer.from('COPY 2\0'));
    // in reads of 50 000 octets, a spans five and b four; `done` lies inside the last one
    pushReads(framer, Buffer.concat([a, b, done]));
    expect(got).toHaveLength(3);
    const [first, second, last] = got;
    expect(first!.claimed).toBeDefined();
    expect(second!.claimed).toBeDefined();
    expect(second!.claimed!.buffer).not.toBe(first!.claimed!.buffer);
    // the claimed buffer is the whole allocation the message lies in
    expect(first!.message.buffer).toBe(first!.claimed!.buffer);
    expect(first!.message.equals(a)).toBe(true);
    expect(second!.message.equals(b)).toBe(true);
    // a view of a read (refilled by the next one) is never claimable; nor is a message once emit has returned
    expect(last!.message.equals(done)).toBe(true);
    expect(last!.claimed).toBeUndefined();
    expect(framer.claim(second!.message)).toBeUndefined();
  });

  it('reassembles in a buffer given back, once however often it is given back', () => {
    const { framer, got } = claiming();
    const messages = Array.from({ length: 4 }, () => body(120_000));
    pushReads(framer, messages[0]!);
    const first = got[0]!.claimed!;
    expect(got[0]!.message.equals(messages[0]!)).toBe(true);
    framer.giveBack(first);
    framer.giveBack(first);
    framer.giveBack(Buffer.alloc(first.length));
    pushReads(framer, Buffer.concat(messages.slice(1)));
    const claimed = got.map((g) => g.claimed);
    expect(claimed.every((c) => c !== undefined)).toBe(true);
    // the second message went into the buffer that replaced the first, the third into the one given back
    expect(claimed[2]).toBe(first);
    // given back twice, it is still lent out only once: nothing assembles over the third while it is held
    expect(new Set(claimed.slice(1)).size).toBe(3);
    expect(got.slice(1).every((g, i) => g.message.equals(messages[i + 1]!))).toBe(true);
  });

  it('keeps a bounded number of buffers given back, none of them large', () => {
    const { framer, got } = claiming();
    const held = Array.from({ length: 6 }, () => body(100_000));
    pushReads(framer, Buffer.concat(held));
    for (const g of got) framer.giveBack(g.claimed!);
    const returned = new Set(got.map((g) => g.claimed));
    // a large message's buffer is not kept either
    pushReads(framer, body(1536 * 1024));
    framer.giveBack(got[6]!.claimed!);
    returned.add(got[6]!.claimed);
    const more = Array.from({ length: 6 }, () => body(100_000));
    pushReads(framer, Buffer.concat(more));
    const reused = got.slice(7).filter((g) => returned.has(g.claimed));
    expect(reused.length).toBeGreaterThan(0);
    expect(reused.length).toBeLessThanOrEqual(2);
    expect(reused.every((g) => g.claimed!.length < 1024 * 1024)).toBe(true);
    expect(got.slice(7).every((g, i) => g.message.equals(more[i]!))).toBe(true);
  });
});

describe('reuseReadBuffers on real PostgreSQL', () => {
  it('returns large and many rows, and errors, intact through framed sockets (COPY: the POP3 tests)', async () => {
    const { prisma, pool } = createPrismaClientWithPool(process.env.MAILROOM_TEST_PG_URL!, { reuseReadBuffers: true, maxConnections: 3 });
    try {
      const rows = await prisma.$queryRaw<
        { i: number; s: string }[]
      >`SELECT i, repeat(md5(i::text), 4000) AS s FROM generate_series(1, 200) i`;
      expect(rows).toHaveLength(200);
      for (const r of rows) expect(r.s).toHaveLength(128_000);
      const [one] = await prisma.$queryRaw<{ b: string }[]>`SELECT encode(sha256(decode(repeat('ab', 3000000), 'hex')), 'hex') AS b`;
      expect(one!.b).toHaveLength(64);
      await expect(prisma.$queryRaw`SELECT 1/0`).rejects.toThrow(/division by zero/);
      // pg's own client on the same pool: a 5 MB value in one row, then many small ones concurrently
      const client = await pool.connect();
      try {
        const big = await client.query<{ v: string }>("SELECT repeat('x', 5000000) || 'end' AS v");
        expect(big.rows[0]!.v).toHaveLength(5_000_003);
        expect(big.rows[0]!.v.endsWith('xend')).toBe(true);
      } finally {
        client.release();
      }
      const counts = await Promise.all(
        Array.from({ length: 20 }, (_, i) => pool.query<{ n: string }>('SELECT count(*) AS n FROM generate_series(1, $1::int)', [i + 1])),
      );
      expect(counts.map((c) => Number(c.rows[0]!.n))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    } finally {
      await prisma.$disconnect();
    }
  });
});
