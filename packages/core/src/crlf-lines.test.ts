import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { CrlfLineJoiner } from './crlf-lines.ts';

describe('CrlfLineJoiner', () => {
  test('joins lines with CRLF, empty lines and none at all included', () => {
    expect(new CrlfLineJoiner().toBuffer().length).toBe(0);
    const j = new CrlfLineJoiner();
    for (const l of ['Subject: x', '', 'body', '']) j.push(Buffer.from(l));
    expect(j.toBuffer().toString()).toBe('Subject: x\r\n\r\nbody\r\n\r\n');
    expect(j.octets).toBe(22);
  });

  test('lines across block boundaries and lines larger than a block come back octet for octet', () => {
    const lines = [randomBytes(70_000), Buffer.alloc(0), randomBytes(5 * 1024 * 1024), randomBytes(1)];
    for (let i = 0; i < 20_000; i++) lines.push(randomBytes(i % 97));
    const j = new CrlfLineJoiner();
    const expected: Buffer[] = [];
    for (const l of lines) {
      j.push(l);
      expected.push(l, Buffer.from('\r\n'));
    }
    const want = Buffer.concat(expected);
    expect(j.octets).toBe(want.length);
    expect(j.toBuffer().equals(want)).toBe(true);
  });
});
