import { describe, expect, test } from 'vitest';
import { AppError } from './errors.ts';
import { MboxrdEncoder, mboxFromLine, readMbox } from './mbox.ts';

function encode(raw: Buffer, chunk: number): Buffer {
  const e = new MboxrdEncoder();
  const out: Buffer[] = [];
  for (let i = 0; i < raw.length; i += chunk) out.push(e.push(raw.subarray(i, i + chunk)));
  out.push(e.end());
  return Buffer.concat(out);
}

async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function readAll(file: Buffer, size: number, format: 'mboxrd' | 'mboxo' = 'mboxrd', maxMessageOctets = 1 << 20) {
  const out = [];
  for await (const m of readMbox(chunks(file, size), { format, maxMessageOctets })) out.push(m);
  return out;
}

const RAW = Buffer.from('Subject: x\r\n\r\nFrom a\r\n>From b\r\n>>From c\r\nFro\r\nline\r\rlone CR\r\n\r\n8-bit \xe9\xff\r\nend', 'latin1');

describe('mboxrd', () => {
  test('escaping and CRLF→LF give the same bytes whatever the chunk boundaries', () => {
    const whole = encode(RAW, RAW.length);
    expect(whole.toString('latin1')).toBe('Subject: x\n\n>From a\n>>From b\n>>>From c\nFro\nline\r\rlone CR\n\n8-bit \xe9\xff\nend\n\n');
    for (let size = 1; size <= 20; size++) expect(encode(RAW, size).equals(whole), `chunks of ${size}`).toBe(true);
  });

  test('reading back gives CRLF messages with one > removed, the envelope sender and date, whatever the chunking', async () => {
    const file = Buffer.concat([
      mboxFromLine('a@example.org', new Date('2026-12-01T03:21:47Z')),
      encode(RAW, 7),
      mboxFromLine(null, new Date('2026-01-05T00:00:00Z')),
      encode(Buffer.from('B\r\n'), 3),
    ]);
    for (const size of [1, 2, 3, 5, 64, file.length]) {
      const msgs = await readAll(file, size);
      expect(msgs.map((m) => m.envelopeFrom)).toEqual(['a@example.org', '']);
      expect(msgs[0]!.date?.toISOString()).toBe('2026-12-01T03:21:47.000Z');
      // the lone CR stays; the missing final newline becomes CRLF
      expect(msgs[0]!.raw.equals(Buffer.concat([RAW, Buffer.from('\r\n')])), `chunks of ${size}`).toBe(true);
      expect(msgs[1]!.raw.toString()).toBe('B\r\n');
    }
  });

  test('mboxo unquotes only ">From "; text before the first separator is refused; an oversized message stops with MESSAGE_TOO_LARGE', async () => {
    const [m] = await readAll(Buffer.from('From x Tue Dec  1 03:21:47 2026\n>From a\n>>From b\n'), 4, 'mboxo');
    expect(m!.raw.toString()).toBe('From a\r\n>>From b\r\n');
    await expect(readAll(Buffer.from('Subject: no separator\n'), 8)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const long = Buffer.from(`From x Tue Dec  1 03:21:47 2026\n${'a'.repeat(5000)}`);
    const err = await readAll(long, 100, 'mboxrd', 1000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('MESSAGE_TOO_LARGE');
    expect(await readAll(Buffer.from('\n\n'), 1)).toEqual([]);
  });
});
