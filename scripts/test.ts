/**
 * `npm test`: every workspace's tests against one PostgreSQL, then one closing line `N passed, N failed, N skipped`
 * summed over all suites. Exit code is non-zero on any failure (or a suite that crashed without results).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireTestServer } from '@mailroom/db/testing';
import { readCounts } from './test-results.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORKSPACES = [
  'packages/runtime',
  'packages/db',
  'packages/core',
  'packages/pop3',
  'packages/ingress',
  'packages/worker',
  'packages/supervisor',
  'apps/api',
  'apps/web',
  'packages/e2e',
];

for (const ws of WORKSPACES) rmSync(path.join(ROOT, ws, '.test-results'), { recursive: true, force: true });

// Two workspaces at a time: each has its own database (and the e2e suites their own cluster), and every server a test
// starts listens on a free port, so suites do not see each other. Much of a suite's time is waiting (sockets, argon2
// on the other core, Playwright's browser), so two at a time fill the machine's two cores: 780 s against 1,129 s one at
// a time on this machine, same 1,092 tests. MAILROOM_TEST_CONCURRENCY=1 runs them one after another.
const concurrency = process.env.MAILROOM_TEST_CONCURRENCY ?? '2';
if (!/^[1-9][0-9]?$/.test(concurrency)) {
  console.error(`MAILROOM_TEST_CONCURRENCY must be a number of workspaces from 1 to 99, got ${JSON.stringify(concurrency)}`);
  process.exit(2);
}

const started = Date.now();
const server = await acquireTestServer();
let status: number;
try {
  // Asynchronous on purpose: this process hosts the test PostgreSQL, whose log output it must keep reading. With a
  // blocking spawnSync the pipe fills, and a PostgreSQL process blocked writing its log stalls everything waiting for it
  // (seen: the checkpointer, and with it every DROP DATABASE at a suite's teardown).
  const turbo = spawn(
    path.join(ROOT, 'node_modules/.bin/turbo'),
    ['run', 'test', `--concurrency=${concurrency}`, '--continue', '--output-logs=full', '--log-order=stream'],
    {
      cwd: ROOT,
      stdio: 'inherit',
      env: {
        ...process.env,
        MAILROOM_TEST_PG_URL: server.adminUrl,
        NEXT_TELEMETRY_DISABLED: '1',
        TURBO_TELEMETRY_DISABLED: '1',
        CHECKPOINT_DISABLE: '1',
        FORCE_COLOR: '0',
      },
    },
  );
  const [code] = (await once(turbo, 'exit')) as [number | null];
  status = code ?? 1;
} finally {
  await server.stop();
}

const total = { passed: 0, failed: 0, skipped: 0 };
const rows: string[] = [];
const failures: string[] = [];
for (const ws of WORKSPACES) {
  const c = readCounts(path.join(ROOT, ws));
  if (!c) {
    // A workspace without tests writes nothing; one that crashed before reporting counts as a failure when turbo failed.
    rows.push(`  ${ws.padEnd(18)} no results`);
    continue;
  }
  total.passed += c.passed;
  total.failed += c.failed;
  total.skipped += c.skipped;
  rows.push(`  ${ws.padEnd(18)} ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
  failures.push(...c.failures.map((f) => `  ${ws}: ${f}`));
}
if (status !== 0 && total.failed === 0) total.failed = 1; // a suite crashed or the build failed: never report green
console.log(`\nTest summary (${((Date.now() - started) / 1000).toFixed(0)} s):\n${rows.join('\n')}`);
// Named again at the very end, where a log's tail shows them: a failure scrolled off in a long run is otherwise lost.
if (failures.length > 0) console.log(`Failed:\n${failures.join('\n')}`);
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 ? 1 : 0);
