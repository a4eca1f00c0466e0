/**
 * `npm run bench`: runs every workspace benchmark one after another (they share the 2 cores, so never in parallel) and
 * prints each report. Benchmarks create their own databases; nothing here is a test and nothing asserts a time.
 * `npm run bench -- pop3` runs only the named ones (`import`: the mailbox CSV import case alone; `dovecot`: Mailroom beside
 * Dovecot 2.3 on this machine, which prints how to install Dovecot and passes when it is absent). Arguments after the
 * names go to the benchmark: `npm run bench -- dovecot --trials=5 --only=retr`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withMallocTuning } from '@mailroom/db';
import { workspaceMallocHugePages } from '@mailroom/runtime';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ALL = [
  { name: 'pop3', dir: 'packages/pop3' },
  { name: 'ingress', dir: 'packages/ingress' },
  { name: 'ingress-replicas', dir: 'packages/ingress', entry: 'bench/replicas.ts' },
  { name: 'api', dir: 'apps/api' },
  { name: 'import', dir: 'apps/api', entry: 'bench/import.ts' },
  { name: 'dovecot', dir: 'packages/ingress', entry: 'bench/dovecot.ts' },
  // the SMTP sender checks (SPF, DKIM, DMARC) per message, against a local dnsmasq
  { name: 'sender-auth', dir: 'packages/ingress', entry: 'bench/sender-auth.ts' },
  // the RCPT lookups, with and without the sender rules (LMTP against SMTP), against full rule lists
  { name: 'rcpt', dir: 'packages/ingress', entry: 'bench/rcpt.ts' },
  // one greylisting decision (INSERT … ON CONFLICT, committed) per SMTP recipient
  { name: 'greylist', dir: 'packages/ingress', entry: 'bench/greylist.ts' },
  // about 5 minutes: message_parts' size under steady deletes, the migrations' autovacuum settings against the defaults
  { name: 'vacuum-churn', dir: 'packages/db', entry: 'bench/vacuum-churn.ts' },
];
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const passed = process.argv.slice(2).filter((a) => a.startsWith('--'));
const selected = ALL.filter((b) => !wanted.length || wanted.includes(b.name));
let failed = 0;
for (const b of selected) {
  const entry = path.join(ROOT, b.dir, b.entry ?? 'bench/run.ts');
  if (!existsSync(entry)) {
    console.log(`\n== ${b.name}: no benchmark yet (${path.relative(ROOT, entry)})`);
    continue;
  }
  console.log(`\n== ${b.name} benchmark (${path.relative(ROOT, entry)})`);
  const r = spawnSync(path.join(ROOT, 'node_modules/.bin/tsx'), [entry, ...passed], {
    cwd: path.join(ROOT, b.dir),
    stdio: 'inherit',
    // the workspace's malloc settings, as `npm start` gives its service, for the benchmarks that run it in their own process
    env: withMallocTuning({ ...process.env, NODE_ENV: 'production' }, workspaceMallocHugePages(path.join(ROOT, b.dir))),
  });
  if (r.status !== 0) {
    failed++;
    console.log(`== ${b.name} benchmark exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed ? 1 : 0);
