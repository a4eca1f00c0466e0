/**
 * CSV writing (RFC 4180) for exports and password downloads; browser-safe. Cells that a spreadsheet would run as a
 * formula (starting with = + - @, tab or carriage return) get a leading apostrophe, per OWASP's CSV injection advice.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (typeof value === 'string' && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV record with CRLF, as RFC 4180 and spreadsheets expect. */
export function csvLine(cells: readonly (string | number | boolean | null | undefined)[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
