/**
 * Reads the JSON reports `npm test` (scripts/test.ts) has each workspace write, for its closing summary.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  /** Each failed test as `file > title: first line of its error`, for the closing summary. */
  failures: string[];
}

/** The first non-empty line of an error, without colour codes, cut to a line's length. */
function firstLine(message: unknown): string {
  const text = stripVTControlCharacters(String(message ?? ''));
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.trim().slice(0, 200);
}

/**
 * What a workspace's test run left in `<workspaceDir>/.test-results`: vitest's or Playwright's JSON report, read into
 * counts and the failed tests' names. Undefined when there is no report (a workspace without tests, or one that crashed
 * before writing it).
 */
export function readCounts(workspaceDir: string): Counts | undefined {
  const dir = path.join(workspaceDir, '.test-results');
  const vitest = path.join(dir, 'vitest.json');
  const playwright = path.join(dir, 'playwright.json');
  if (existsSync(vitest)) {
    const r = JSON.parse(readFileSync(vitest, 'utf8'));
    const failures: string[] = [];
    for (const file of r.testResults ?? []) {
      const name = path.relative(workspaceDir, file.name ?? '');
      const failed = (file.assertionResults ?? []).filter((t: { status: string }) => t.status === 'failed');
      for (const t of failed) failures.push(`${name} > ${t.fullName ?? t.title}: ${firstLine(t.failureMessages?.[0])}`);
      // A file that failed outside any test (an import error, a hook): vitest puts the error on the file.
      if (file.status === 'failed' && failed.length === 0) failures.push(`${name}: ${firstLine(file.message)}`);
    }
    return {
      passed: r.numPassedTests ?? 0,
      failed: (r.numFailedTests ?? 0) + (r.success === false && !r.numFailedTests ? 1 : 0),
      skipped: (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0),
      failures,
    };
  }
  if (existsSync(playwright)) {
    const report = JSON.parse(readFileSync(playwright, 'utf8'));
    const s = report.stats ?? {};
    const errors: unknown[] = report.errors ?? [];
    return {
      passed: (s.expected ?? 0) + (s.flaky ?? 0),
      failed: (s.unexpected ?? 0) + (errors.length && !s.unexpected ? 1 : 0),
      skipped: s.skipped ?? 0,
      failures: [
        ...playwrightFailures(report.suites ?? [], []),
        ...errors.map((e) => `(outside a test): ${firstLine((e as { message?: string }).message)}`),
      ],
    };
  }
  return undefined;
}

interface PlaywrightSuite {
  title: string;
  suites?: PlaywrightSuite[];
  specs?: { title: string; ok: boolean; tests: { results: { error?: { message?: string } }[] }[] }[];
}

/** Failed Playwright specs as `suite > title: first line of the last attempt's error`. */
function playwrightFailures(suites: PlaywrightSuite[], trail: string[]): string[] {
  const out: string[] = [];
  for (const suite of suites) {
    const here = [...trail, suite.title].filter((t) => t !== '');
    for (const spec of suite.specs ?? []) {
      if (spec.ok) continue;
      const results = spec.tests.flatMap((t) => t.results);
      out.push(`${[...here, spec.title].join(' > ')}: ${firstLine(results.at(-1)?.error?.message)}`);
    }
    out.push(...playwrightFailures(suite.suites ?? [], here));
  }
  return out;
}
