import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DataReader } from './data-reader.ts';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** The same rules, one octet at a time over the whole input: null when the data never ends. */
function reference(wire: Buffer): { content: Buffer; rest: Buffer } | null {
  const out: number[] = [];
  let lineStart = true;
  let afterCrlf = true;
  let prev = -1;
  for (let i = 0; i < wire.length; i++) {
    const c = wire[i]!;
    if (lineStart && c === DOT) {
      if (afterCrlf && wire[i + 1] === CR && wire[i + 2] === LF) return { content: Buffer.from(out), rest: wire.subarray(i + 3) };
      if (i + 1 < wire.length && wire[i + 1] !== CR && wire[i + 1] !== LF) {
        lineStart = false;
        prev = c;
        continue;
      }
    }
    out.push(c);
    lineStart = c === LF;
    afterCrlf = lineStart && prev === CR;
    prev = c;
  }
  return null;
}

/** Feeds `wire` cut at `cuts` (ascending offsets); returns what the reader produced. */
function read(wire: Buffer, cuts: number[]): { content: Buffer; rest: Buffer } | null {
  const r = new DataReader();
  const pieces: Buffer[] = [];
  let from = 0;
  for (const to of [...cuts, wire.length]) {
    const res = r.feed(wire.subarray(from, to));
    pieces.push(...res.pieces);
    if (res.rest) return { content: Buffer.concat(pieces), rest: Buffer.concat([res.rest, wire.subarray(to)]) };
    from = to;
  }
  return null;
}

const s = (x: string) => Buffer.from(x, 'latin1');
const text = (r: { content: Buffer; rest: Buffer } | null) =>
  r && { content: r.content.toString('latin1'), rest: r.rest.toString('latin1') };

describe('DataReader', () => {
  it.each([
    ['an empty message', '.\r\n', '', ''],
    ['a plain message and pipelined commands after it', 'a\r\nb\r\n.\r\nQUIT\r\n', 'a\r\nb\r\n', 'QUIT\r\n'],
    ['stuffed dots removed (RFC 5321 §4.5.2)', '..\r\n..x\r\n.y\r\n...\r\n.\r\n', '.\r\n.x\r\ny\r\n..\r\n', ''],
    ['a first line that is a stuffed lone dot', '..\r\nz\r\n.\r\n', '.\r\nz\r\n', ''],
    ['"." lines after bare LF or CR are content, not the end', 'a\n.\r\nb\r.\r\nc\r\n.\n.\r\n', 'a\n.\r\nb\r.\r\nc\r\n.\n.\r\n', null],
    ['a "." line after a bare LF, then the real end', 'a\n.\r\n.\r\nrest', 'a\n.\r\n', 'rest'],
    ['a dot followed by a bare LF keeps its dot', 'a\r\n.\nb\r\n.\r\n', 'a\r\n.\nb\r\n', ''],
  ])('%s', (_name, wire, content, rest) => {
    const got = text(read(s(wire), []));
    if (rest === null) expect(got).toBeNull();
    else expect(got).toEqual({ content, rest });
    expect(got).toEqual(text(reference(s(wire))));
  });

  it('gives the same result however the input is cut (every single cut, then random cuts of random input)', () => {
    const wire = s('x\r\n..a\r\n.\n..\r\n.\r.\r\n..\r\n.\r\nMAIL FROM:<a@b>\r\n');
    const whole = text(read(wire, []));
    expect(whole).toEqual(text(reference(wire)));
    for (let i = 0; i <= wire.length; i++) expect(text(read(wire, [i]))).toEqual(whole);
    const alphabet = [DOT, CR, LF, 0x61];
    for (let n = 0; n < 3000; n++) {
      const len = randomInt(1, 40);
      const w = Buffer.from(Array.from({ length: len }, () => alphabet[randomInt(alphabet.length)]!));
      const cuts = [...new Set(Array.from({ length: randomInt(0, 6) }, () => randomInt(0, len + 1)))].sort((a, b) => a - b);
      const expected = text(reference(w));
      expect(text(read(w, cuts)), `${JSON.stringify(w.toString('latin1'))} cut at ${cuts.join(',')}`).toEqual(expected);
    }
  });

  it('copies nothing: content is the input itself when no line starts with a dot', () => {
    const chunk = s('Subject: x\r\n\r\nbody\r\n');
    const r = new DataReader();
    const { pieces, rest } = r.feed(chunk);
    expect(rest).toBeNull();
    expect(pieces).toHaveLength(1);
    expect(pieces[0]!.buffer).toBe(chunk.buffer);
  });

  it('refuses input after the end', () => {
    const r = new DataReader();
    expect(r.feed(s('.\r\n')).rest).not.toBeNull();
    expect(() => r.feed(s('x'))).toThrow();
  });
});
