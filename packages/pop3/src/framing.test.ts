import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DotStuffer, LineReader, LineTooLongError, TopLimiter } from './framing.ts';

function reader(max = 64) {
  const stream = new PassThrough();
  const r = new LineReader(max);
  r.attach(stream);
  return { stream, r };
}

describe('LineReader', () => {
  it('splits CRLF and bare-LF lines, across chunk boundaries, in order', async () => {
    const { stream, r } = reader();
    stream.write('US');
    stream.write('ER a\r');
    stream.write('\nPASS b c\nNOOP\r\nST');
    expect(await r.nextLine()).toBe('USER a');
    expect(await r.nextLine()).toBe('PASS b c');
    expect(await r.nextLine()).toBe('NOOP');
    const pending = r.nextLine();
    stream.write('AT\r\n');
    expect(await pending).toBe('STAT');
    stream.end();
    expect(await r.nextLine()).toBeNull();
  });

  it('decodes UTF-8 (passwords may be non-ASCII)', async () => {
    const { stream, r } = reader();
    stream.write(Buffer.from('PASS pässwörd\r\n', 'utf8'));
    expect(await r.nextLine()).toBe('PASS pässwörd');
  });

  it('rejects a line longer than the limit even when its end has not arrived', async () => {
    const { stream, r } = reader(16);
    stream.write('A'.repeat(15));
    const p = r.nextLine();
    stream.write('A'.repeat(100));
    await expect(p).rejects.toBeInstanceOf(LineTooLongError);
  });

  it('accepts a line of exactly the limit (CRLF included) and rejects one octet more', async () => {
    const { stream, r } = reader(16);
    stream.write(`${'B'.repeat(14)}\r\n${'C'.repeat(15)}\r\n`);
    expect(await r.nextLine()).toBe('B'.repeat(14));
    await expect(r.nextLine()).rejects.toBeInstanceOf(LineTooLongError);
  });

  it('does not read from the stream while a complete line is buffered (backpressure)', async () => {
    const { stream, r } = reader();
    stream.write('NOOP\r\nNOOP\r\n');
    expect(await r.nextLine()).toBe('NOOP');
    // nobody asked for the next line: the stream is paused, and further input stays in the stream
    stream.write('X'.repeat(1000));
    await new Promise((res) => setImmediate(res));
    expect(stream.isPaused()).toBe(true);
    expect(r.buffered).toBe(6);
  });

  it('detach() discards buffered input (STLS) and reports how much', async () => {
    const { stream, r } = reader();
    stream.write('STLS\r\nUSER evil\r\nPASS x\r\n');
    expect(await r.nextLine()).toBe('STLS');
    expect(r.detach()).toBe('USER evil\r\nPASS x\r\n'.length);
    const next = new PassThrough();
    r.attach(next);
    next.write('CAPA\r\n');
    expect(await r.nextLine()).toBe('CAPA');
  });
});

function stuffAll(chunks: string[]): string {
  const s = new DotStuffer();
  return chunks.map((c) => s.transform(Buffer.from(c)).toString()).join('') + s.finish().toString();
}

describe('DotStuffer', () => {
  it('doubles a leading dot on every line and terminates with CRLF.CRLF', () => {
    expect(stuffAll(['.a\r\nb\r\n.\r\n..c\r\n'])).toBe('..a\r\nb\r\n..\r\n...c\r\n.\r\n');
  });

  it('handles dots right after a chunk boundary', () => {
    expect(stuffAll(['a\r\n', '.b\r', '\n', '.c\r\n'])).toBe('a\r\n..b\r\n..c\r\n.\r\n');
    expect(stuffAll(['a\r', '\n.', 'b\r\n'])).toBe('a\r\n..b\r\n.\r\n');
  });

  it('passes a chunk without a line-leading dot on uncopied, and stuffs one that starts a line after it', () => {
    const d = new DotStuffer();
    const plain = Buffer.from('a.b\r\nc\r\n');
    expect(d.transform(plain)).toBe(plain); // the same Buffer: no copy on the fast path
    const next = Buffer.from('.d\r\n');
    expect(d.transform(next).toString()).toBe('..d\r\n');
  });

  it('stuffs byte-exactly whatever the chunking: dots at chunk borders, CRLF split, all-dot lines, no final CRLF', () => {
    const reference = (data: string) => data.replace(/(^|\n)\./g, '$1..');
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const alphabet = ['.', '.', '\r\n', '\n', 'a', 'xyz', '\r', '..'];
    for (let round = 0; round < 200; round++) {
      let data = '';
      while (data.length < 3000) data += alphabet[rnd(alphabet.length)];
      if (round % 3 === 0) data = '.\r\n'.repeat(500) + data; // every line a lone dot: the output outgrows 1/64
      const chunks: string[] = [];
      for (let at = 0; at < data.length;) {
        const n = 1 + rnd(round % 2 ? 7 : 900);
        chunks.push(data.slice(at, at + n));
        at += n;
      }
      const tail = /\n$/.test(data) ? '.\r\n' : '\r\n.\r\n';
      expect(stuffAll(chunks)).toBe(reference(data) + tail);
    }
  });

  it('refills one output buffer instead of allocating one per stuffed chunk', () => {
    const d = new DotStuffer();
    const a = d.transform(Buffer.from('x\r\n.y\r\n'));
    const b = d.transform(Buffer.from('.z\r\n'));
    expect(b.buffer).toBe(a.buffer);
    expect(b.toString()).toBe('..z\r\n');
  });

  it('does not touch dots inside lines', () => {
    expect(stuffAll(['a.b\r\n', 'x.\r\n'])).toBe('a.b\r\nx.\r\n.\r\n');
  });

  it('scan off (messages.dot_lines = false): chunks pass as they are, and the terminator still follows the last octet', () => {
    const s = new DotStuffer(false);
    const chunk = Buffer.from('a\r\nb\r\n');
    expect(s.transform(chunk)).toBe(chunk);
    expect(s.finish().toString()).toBe('.\r\n');
    const t = new DotStuffer(false);
    t.transform(Buffer.from('a\r\nno break'));
    expect(t.finish().toString()).toBe('\r\n.\r\n');
  });

  it('adds a line break before the terminator when the data lacks one', () => {
    expect(stuffAll(['no newline at end'])).toBe('no newline at end\r\n.\r\n');
    expect(stuffAll([])).toBe('.\r\n');
  });
});

function top(chunks: string[], n: number): string {
  const l = new TopLimiter(n);
  let out = '';
  for (const c of chunks) {
    const r = l.take(Buffer.from(c));
    out += r.out.toString();
    if (r.done) break;
  }
  return out;
}

describe('TopLimiter', () => {
  const msg = 'A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n';
  it('gives the headers and blank line for 0, then k body lines', () => {
    expect(top([msg], 0)).toBe('A: 1\r\nB: 2\r\n\r\n');
    expect(top([msg], 2)).toBe('A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n');
    expect(top([msg], 10)).toBe(msg);
  });

  it('finds the header end across chunk boundaries, including a split CRLF', () => {
    const parts = ['A: 1\r\nB: 2\r', '\n\r', '\nl1\r\nl', '2\r\nl3\r\n'];
    expect(top(parts, 0)).toBe('A: 1\r\nB: 2\r\n\r\n');
    expect(top(parts, 1)).toBe('A: 1\r\nB: 2\r\n\r\nl1\r\n');
    // a header line consisting of a lone CR split from its LF is not mistaken for the blank line
    expect(top(['X: \r', '\r\n\r\nb\r\n'], 0)).toBe('X: \r\r\n\r\n');
  });

  it('sends a header-only message whole', () => {
    expect(top(['A: 1\r\nB: 2\r\n'], 3)).toBe('A: 1\r\nB: 2\r\n');
  });
});
