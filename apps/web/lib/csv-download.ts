'use client';
import { csvLine } from '@mailroom/core/csv';

/** Offers `text` as a CSV file download (generated passwords: built in the browser, never stored anywhere). */
export function downloadCsv(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** address,password rows, with the same CSV rules (and formula neutralising) as the API's export. */
export function passwordsCsv(rows: readonly { address: string; password: string }[]): string {
  return [csvLine(['address', 'password']), ...rows.map((r) => csvLine([r.address, r.password]))].join('');
}
