/**
 * indexOfLfDot against `indexOf('\n.')` over 50 MiB of three kinds of mail body (the figures in src/line-dots.ts):
 *   npx tsx bench/line-dots.ts
 * Best of five per kind; both must count the same line-leading dots.
 */
import { randomBytes } from 'node:crypto';
import { indexOfLfDot } from '../src/line-dots.ts';

const MiB = 1024 * 1024;
function lines(make: (i: number) => string): Buffer {
  const out: string[] = [];
  let n = 0;
  for (let i = 0; n < 50 * MiB; i++) {
    const l = make(i);
    out.push(l);
    n += l.length + 2;
  }
  return Buffer.from(`${out.join('\r\n')}\r\n`);
}
const rnd = randomBytes(57 * 1024);
const b64 = (i: number) => rnd.toString('base64', (i * 57) % (rnd.length - 57), ((i * 57) % (rnd.length - 57)) + 57);
const kinds: Record<string, Buffer> = {
  'base64, no "." lines': lines(b64),
  'base64, a "." line every 50': lines((i) => (i % 50 === 49 ? '.dot line at start' : b64(i))),
  'text, three "." per line': lines((i) => (i % 40 === 39 ? '.' : 'The quick brown fox. It jumps over the lazy dog. Yes.')),
};

function count(buf: Buffer, find: (b: Buffer, from: number) => number): number {
  let n = 0;
  for (let i = find(buf, 0); i !== -1; i = find(buf, i + 1)) n++;
  return n;
}
function best(fn: () => number): { ms: number; n: number } {
  let ms = Infinity;
  let n = 0;
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    n = fn();
    ms = Math.min(ms, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return { ms, n };
}
for (const [kind, buf] of Object.entries(kinds)) {
  const plain = best(() => count(buf, (b, from) => b.indexOf('\n.', from)));
  const ours = best(() => count(buf, indexOfLfDot));
  if (plain.n !== ours.n) throw new Error(`${kind}: ${plain.n} against ${ours.n} line-leading dots`);
  console.log(`${kind.padEnd(30)} ${plain.n} "." lines: indexOf('\\n.') ${plain.ms.toFixed(1)} ms, indexOfLfDot ${ours.ms.toFixed(1)} ms`);
}
