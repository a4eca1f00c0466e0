// First-load JavaScript per route, as `next build` printed it before Next 16 dropped the column: the gzipped size of
// the root main chunks plus every chunk the route's layouts, boundaries and page load. Fails above the budget.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { gzipSync } from 'node:zlib';

const BUDGET_KB = 200;
const NEXT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../.next');
const build = JSON.parse(readFileSync(path.join(NEXT, 'build-manifest.json'), 'utf8'));
const sizeCache = new Map();
const gz = (f) => {
  if (!sizeCache.has(f)) sizeCache.set(f, gzipSync(readFileSync(path.join(NEXT, f))).length);
  return sizeCache.get(f);
};

function* manifests(dir) {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) yield* manifests(p);
    else if (name === 'page_client-reference-manifest.js') yield p;
  }
}

const rows = [];
for (const file of manifests(path.join(NEXT, 'server/app'))) {
  const ctx = { self: {}, globalThis: {} };
  ctx.globalThis = ctx;
  vm.runInNewContext(readFileSync(file, 'utf8'), ctx);
  const all = ctx.__RSC_MANIFEST ?? ctx.self.__RSC_MANIFEST;
  for (const [entry, m] of Object.entries(all)) {
    const route = entry.replace(/\/page$/, '').replace(/\/\([^)]+\)/g, '') || '/';
    if (route.startsWith('/_global-error')) continue;
    const pageKey = Object.keys(m.entryJSFiles).find((k) => k.endsWith('/page'));
    const pageOnly = new Set(m.entryJSFiles[pageKey] ?? []);
    const files = new Set(build.rootMainFiles);
    for (const list of Object.values(m.entryJSFiles)) for (const f of list) files.add(f);
    const total = [...files].reduce((s, f) => s + gz(f), 0);
    const own = [...pageOnly].reduce((s, f) => s + gz(f), 0);
    rows.push({ route, own, total });
  }
}
rows.sort((a, b) => a.route.localeCompare(b.route));
const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
const w = Math.max(...rows.map((r) => r.route.length), 5);
console.log(`${'Route'.padEnd(w)}  ${'Page chunks'.padStart(11)}  ${'First Load JS'.padStart(13)}`);
for (const r of rows)
  console.log(
    `${r.route.padEnd(w)}  ${kb(r.own).padStart(11)}  ${kb(r.total).padStart(13)}${r.total > BUDGET_KB * 1024 ? '  OVER BUDGET' : ''}`,
  );
const shared = build.rootMainFiles.reduce((s, f) => s + gz(f), 0);
console.log(`Shared by all (root main chunks): ${kb(shared)}; budget ${BUDGET_KB} kB per route (gzipped)`);
if (rows.some((r) => r.total > BUDGET_KB * 1024)) process.exit(1);
