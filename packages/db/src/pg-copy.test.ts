import { describe, expect, it } from 'vitest';
import { BinaryCopyRowDecoder } from './pg-copy.ts';

const header = (ext = Buffer.alloc(0)) => {
  const h = Buffer.alloc(19);
  Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1').copy(h);
  h.writeUInt32BE(ext.length, 15);
  return Buffer.concat([h, ext]);
};
const row = (data: Buffer) => {
  const r = Buffer.alloc(6);
  r.writeInt16BE(1, 0);
  r.writeInt32BE(data.length, 2);
  return Buffer.concat([r, data]);
};
const trailer = Buffer.from([0xff, 0xff]);

describe('BinaryCopyRowDecoder', () => {
  it('decodes the header (with an extension area), rows of any octets, empty rows and the trailer', () => {
    const d = new BinaryCopyRowDecoder();
    const a = Buffer.from([0, 1, 0x2e, 0x0a, 0xff]);
    expect(d.decode(Buffer.concat([header(Buffer.from('ext!')), row(a)]))!.equals(a)).toBe(true);
    expect(d.decode(row(Buffer.alloc(0)))!.length).toBe(0);
    expect(d.decode(row(Buffer.from('PGCOPY')))!.toString()).toBe('PGCOPY'); // no second header
    expect(d.decode(trailer)).toBeNull();
    expect(d.rows).toBe(3);
  });

  it('refuses a bad header, NULL, more than one column and a length mismatch', () => {
    expect(() => new BinaryCopyRowDecoder().decode(row(Buffer.from('x')))).toThrow(/header/);
    const nul = Buffer.alloc(6);
    nul.writeInt16BE(1, 0);
    nul.writeInt32BE(-1, 2);
    expect(() => new BinaryCopyRowDecoder().decode(Buffer.concat([header(), nul]))).toThrow(/NULL/);
    const two = Buffer.concat([header(), row(Buffer.from('x'))]);
    two.writeInt16BE(2, 19);
    expect(() => new BinaryCopyRowDecoder().decode(two)).toThrow(/1 field/);
    expect(() => new BinaryCopyRowDecoder().decode(Buffer.concat([header(), row(Buffer.from('xy')).subarray(0, 7)]))).toThrow(/length/);
  });
});
