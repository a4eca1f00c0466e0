import { describe, expect, test } from 'vitest';
import { csvCell, csvLine } from '../csv.ts';
import { parseByteSize, readMailboxCsv } from './mailbox-import.ts';

async function rows(source: string | AsyncIterable<Buffer>, maxRows = 100) {
  const out = [];
  for await (const r of readMailboxCsv(source, maxRows)) out.push(r);
  return out;
}

async function* chunked(text: string, size: number): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('mailbox CSV reading', () => {
  test('BOM, CRLF/LF mixed, quoted commas, quotes and newlines, split into 3-byte chunks (mid UTF-8 character)', async () => {
    const text = '\uFEFFAddress,Display_Name\r\nzoë,"Zoë, ""Z"" \r\nSecond line"\nbob,Bob\r\n\r\n';
    const got = await rows(chunked(text, 3));
    expect(got).toEqual([
      { row: 2, cells: { address: 'zoë', displayName: 'Zoë, "Z" \r\nSecond line' }, columnMismatch: false },
      { row: 3, cells: { address: 'bob', displayName: 'Bob' }, columnMismatch: false },
    ]);
  });

  test('header problems and malformed CSV are VALIDATION_FAILED with a code; more rows than allowed is TOO_MANY_ROWS', async () => {
    await expect(rows('name\nx\n')).rejects.toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ code: 'missing_address_column' }] });
    await expect(rows('address,email\nx,y\n')).rejects.toMatchObject({ fields: [{ code: 'duplicate_column' }] });
    await expect(rows('address,\nx,\n')).rejects.toMatchObject({ fields: [{ code: 'unknown_column' }] });
    await expect(rows('address\n"x\n')).rejects.toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path: 'body' }] });
    await expect(rows('address\na\nb\nc\n', 2)).rejects.toMatchObject({ code: 'TOO_MANY_ROWS' });
    expect(await rows('address\na\nb\n', 2)).toHaveLength(2);
  });
});

describe('sizes and CSV cells', () => {
  test('parseByteSize: bytes, binary units in any spelling, unlimited; nonsense is undefined', () => {
    expect(parseByteSize('1048576')).toBe(1048576);
    expect(parseByteSize('2 GB')).toBe(2 * 2 ** 30);
    expect(parseByteSize('2GiB')).toBe(2 * 2 ** 30);
    expect(parseByteSize('2g')).toBe(2 * 2 ** 30);
    expect(parseByteSize('500MiB')).toBe(500 * 2 ** 20);
    expect(parseByteSize('1.5 kb')).toBe(1536);
    expect(parseByteSize('Unlimited')).toBeNull();
    for (const bad of ['1.5', '-1', '2 parsecs', 'GB', '9999999 TB', '']) expect(parseByteSize(bad), bad).toBeUndefined();
  });

  test('csvCell: formula starts are neutralised (OWASP), quoting per RFC 4180, numbers untouched', () => {
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-x')).toBe("'-x");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('=A1,"b"')).toBe(`"'=A1,""b"""`);
    expect(csvCell(-5)).toBe('-5');
    expect(csvCell(null)).toBe('');
    expect(csvLine(['a', 1, true, null])).toBe('a,1,true,\r\n');
  });
});
