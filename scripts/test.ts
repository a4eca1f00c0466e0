/**
 * `npm test`: every workspace's tests against one PostgreSQL, then one closing line `N passed, N failed, N skipped`
 * summed over all suites. Exit code is non-zero on any failure (or a suite that crashed without results).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireTestServer } from '@mailroom/db/testing';

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

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

function readCounts(ws: string): Counts | undefined {
  const dir = path.join(ROOT, ws, '.test-results');
  const vitest = path.join(dir, 'vitest.json');
  const playwright = path.join(dir, 'playwright.json');
  if (existsSync(vitest)) {
    const r = JSON.parse(readFileSync(vitest, 'utf8'));
    return {
      passed: r.numPassedTests ?? 0,
      failed: (r.numFailedTests ?? 0) + (r.success === false && !r.numFailedTests ? 1 : 0),
      skipped: (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0),
    };
  }
  if (existsSync(playwright)) {
    const s = JSON.parse(readFileSync(playwright, 'utf8')).stats ?? {};
    const errors = (JSON.parse(readFileSync(playwright, 'utf8')).errors ?? []).length;
    return {
      passed: (s.expected ?? 0) + (s.flaky ?? 0),
      failed: (s.unexpected ?? 0) + (errors && !s.unexpected ? 1 : 0),
      skipped: s.skipped ?? 0,
    };
  }
  return undefined;
}

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

const total: Counts = { passed: 0, failed: 0, skipped: 0 };
const rows: string[] = [];
for (const ws of WORKSPACES) {
  const c = readCounts(ws);
  if (!c) {
    // A workspace without tests writes nothing; one that crashed before reporting counts as a failure when turbo failed.
    rows.push(`  ${ws.padEnd(18)} no results`);
    continue;
  }
  total.passed += c.passed;
  total.failed += c.failed;
  total.skipped += c.skipped;
  rows.push(`  ${ws.padEnd(18)} ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
}
if (status !== 0 && total.failed === 0) total.failed = 1; // a suite crashed or the build failed: never report green
console.log(`\nTest summary (${((Date.now() - started) / 1000).toFixed(0)} s):\n${rows.join('\n')}`);
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 ? 1 : 0);
