import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { indexOfLfDot, LINE_DOT_MISSES_BEFORE_LINE_SEARCH } from './line-dots.ts';

/** Every answer the reference search gives, from every start position. */
function expectSameAsIndexOf(buf: Buffer): void {
  for (let from = 0; from <= buf.length + 1; from++) {
    const want = buf.indexOf('\n.', from);
    const got = indexOfLfDot(buf, from);
    if (got !== want) throw new Error(`from ${from} in ${JSON.stringify(buf.toString('latin1'))}: ${got}, want ${want}`);
  }
}

describe('indexOfLfDot', () => {
  it('finds what indexOf("\\n.") finds, from every position', () => {
    for (const s of [
      '',
      '.',
      '\n',
      '\n.',
      '.\n.',
      'a.b\r\n.c',
      '..\n..\n',
      'no dots at all\r\nnone\r\n',
      '\r\n.\r\n',
      'x\n\n.\n.',
      '.starts with a dot\r\nand then\r\n.another\r\n',
    ]) {
      expectSameAsIndexOf(Buffer.from(s, 'latin1'));
    }
  });

  it('finds a line-leading dot after many dots inside lines (the switch to the line-break search)', () => {
    const many = 'a.'.repeat(LINE_DOT_MISSES_BEFORE_LINE_SEARCH * 3);
    for (const s of [
      `${many}\r\n.x`,
      `${'.'.repeat(LINE_DOT_MISSES_BEFORE_LINE_SEARCH - 1)}\n.`,
      `${'.'.repeat(LINE_DOT_MISSES_BEFORE_LINE_SEARCH)}\n.`,
      `${'.'.repeat(LINE_DOT_MISSES_BEFORE_LINE_SEARCH + 1)}\n.`,
      `x${'.'.repeat(LINE_DOT_MISSES_BEFORE_LINE_SEARCH)}\n.`,
      `${many}\r\nno dot line\r\n`,
    ]) {
      expectSameAsIndexOf(Buffer.from(s, 'latin1'));
    }
  });

  it('agrees with indexOf on random buffers of dots, line breaks and letters', () => {
    const alphabet = Buffer.from('..\n\r\nab');
    for (let n = 0; n < 300; n++) {
      const r = randomBytes(1 + (n % 200));
      expectSameAsIndexOf(Buffer.from(r.map((b) => alphabet[b % alphabet.length]!)));
    }
  });

  it('works on a view into a larger buffer (byte offsets are the view’s own)', () => {
    const whole = Buffer.from('\n.head\r\nbody.text\r\n.dot\r\n', 'latin1');
    const view = whole.subarray(3);
    expectSameAsIndexOf(view);
    expect(indexOfLfDot(view)).toBe(view.indexOf('\n.'));
    expect(indexOfLfDot(view)).toBeGreaterThan(0);
  });
});
