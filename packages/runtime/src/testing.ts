import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { workspaceNodeFlags } from './node-flags.ts';
import { loadTlsMaterial, type TlsMaterial } from './tls.ts';

export { machineBusyCpuMs, procStat, processCpuMs, processTreeCpuMs, type ProcStat } from './proc-cpu.ts';

/**
 * Test helper: a self-signed certificate for `hostname`, made the way a service makes its own (loadTlsMaterial), in a
 * temporary directory removed as soon as the material is in memory: test servers take cert and key as buffers, and
 * nothing reads the files again (`certFile`/`keyFile` name files that are gone).
 */
export async function temporaryTlsMaterial(hostname: string): Promise<TlsMaterial> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mailroom-test-tls-'));
  try {
    return await loadTlsMaterial({ dataDir, hostname });
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * Test helper: starts a service entry (`src/main.ts`) as a child process under tsx and resolves with its pino
 * "listening" line (the line `npm start` waits for); `lines` collects every log line, `stop()` sends SIGTERM.
 */
export async function startEntry(
  file: string,
  env: NodeJS.ProcessEnv,
  cwd: string = process.cwd(),
  /** Node flags before the entry; by default those `cwd`'s package.json declares, as the supervisor passes them. */
  nodeFlags: readonly string[] = workspaceNodeFlags(cwd),
) {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines: Record<string, unknown>[] = [];
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          lines.push(parsed);
          if (parsed.msg === 'listening') resolve(parsed);
        } catch {
          // not a log line
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code)),
  );
  return {
    child,
    listening,
    lines,
    /** Sends SIGTERM (unless it already exited) and resolves once the process is gone. */
    stop: () =>
      new Promise<void>((resolve) =>
        child.exitCode !== null || child.signalCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM')),
      ),
    /** The exit code (null when ended by a signal). */
    exited,
  };
}

/** Polls until `check` holds (for state a server reaches after a client went away); no timing assertion. */
export async function eventually(check: () => boolean | Promise<boolean>, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not reached');
}

/**
 * Polls `check` until it holds, failing if it still does not after `ms` milliseconds: a requirement of the form "seen
 * within N ms" (e.g. a revocation reaching another process), not a speed measurement.
 */
export async function within(ms: number, check: () => boolean | Promise<boolean>, what = 'condition'): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One metric as the README's "Metrics" table documents it: name, type, labels, meaning (the metric's help text). */
export interface MetricDoc {
  name: string;
  type: string;
  labels: string[];
  help: string;
}

/** What a prom-client Registry answers (kept structural: runtime does not depend on prom-client). */
interface MetricRegistry {
  getMetricsAsJSON(): Promise<{ name: string; type: unknown; help: string }[]>;
  getMetricsAsArray(): { name: string; labelNames?: readonly string[] }[];
}

/** Default metrics every service registers under their standard names (prom-client's collectDefaultMetrics). */
export const STANDARD_METRIC_PREFIXES = ['process_', 'nodejs_'];

/** The Mailroom metrics of a registry (every one must be `mailroom_<service>_…`), sorted, for the README check. */
export async function registryMetricDocs(registry: MetricRegistry): Promise<MetricDoc[]> {
  const labels = new Map(registry.getMetricsAsArray().map((m) => [m.name, [...(m.labelNames ?? [])]]));
  return (await registry.getMetricsAsJSON())
    .filter((m) => !STANDARD_METRIC_PREFIXES.some((p) => m.name.startsWith(p)))
    .map((m) => ({ name: m.name, type: String(m.type), labels: labels.get(m.name) ?? [], help: m.help }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The rows of the README's metric table (`| \`name\` | type | \`label\`, … | meaning |`) whose name starts with `prefix`. */
export function readmeMetricDocs(readme: string, prefix: string): MetricDoc[] {
  const rows: MetricDoc[] = [];
  for (const line of readme.split('\n')) {
    // cells may be padded (Prettier aligns Markdown tables)
    const m = /^\|\s*`(mailroom_[a-z0-9_]+)`\s*\|\s*(counter|gauge|histogram|summary)\s*\|([^|]*)\|(.*)\|\s*$/.exec(line);
    if (!m || !m[1]!.startsWith(prefix)) continue;
    const labels = m[3]!.trim() === '—' ? [] : m[3]!.split(',').map((l) => l.trim().replace(/`/g, ''));
    rows.push({ name: m[1]!, type: m[2]!, labels, help: m[4]!.trim() });
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

/** The README rows for `docs` (paste them into the table when a metric is added or changed). */
export function formatMetricRows(docs: MetricDoc[]): string {
  return docs
    .map((d) => `| \`${d.name}\` | ${d.type} | ${d.labels.length ? d.labels.map((l) => `\`${l}\``).join(', ') : '—'} | ${d.help} |`)
    .join('\n');
}

/**
 * For a service's metrics-doc test: its registry's metrics that are not `mailroom_<service>_…` (`foreign`, should be
 * none), and the README table's rows for the service next to the rows the registry calls for (should be equal).
 */
export async function checkMetricTable(
  registry: MetricRegistry,
  service: string,
): Promise<{ foreign: string[]; readme: string; registered: string }> {
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  const registered = await registryMetricDocs(registry);
  const prefix = `mailroom_${service}_`;
  return {
    foreign: registered.filter((m) => !m.name.startsWith(prefix)).map((m) => m.name),
    readme: formatMetricRows(readmeMetricDocs(readme, prefix)),
    registered: formatMetricRows(registered),
  };
}
