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
