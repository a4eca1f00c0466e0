import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { withMallocTuning } from '@mailroom/db';
import { workspaceLaunch } from '@mailroom/runtime';
import type { OutputStream } from './log-output.ts';
import { waitUntilReady } from './readiness.ts';
import type { ExitInfo, Incarnation } from './supervised.ts';

/** How long a service gets to stop after SIGTERM before it is killed. */
export const STOP_TIMEOUT_MS = 20_000;
const RECENT_LINES = 40;
const DRAIN_AFTER_EXIT_MS = 1_000;
const PARENT_WATCH = pathToFileURL(new URL('./parent-watch.ts', import.meta.url).pathname).href;

export interface ChildServiceSpec {
  name: string;
  cwd: string;
  /** Entry file relative to cwd, run as `node <its package.json's nodeFlags> --import tsx <entry>`. */
  entry: string;
  /** Its /readyz. */
  readyUrl: string;
}

/** The last lines a service wrote, to say why it crashed. */
export class RecentOutput {
  private lines: { stream: OutputStream; line: string }[] = [];

  push(stream: OutputStream, line: string): void {
    this.lines.push({ stream, line: line.length > 500 ? `${line.slice(0, 500)}…` : line });
    if (this.lines.length > RECENT_LINES) this.lines.shift();
  }

  /** Its stderr and its error/fatal log lines (the last `max`), else its last lines. */
  errors(max = 10): string[] {
    const isError = (e: { stream: OutputStream; line: string }) => e.stream === 'stderr' || /"level":\s*(5\d|60)\b/.test(e.line);
    const errors = this.lines.filter(isError);
    return (errors.length ? errors : this.lines).slice(-max).map((e) => e.line);
  }
}

/**
 * Starts one service as `node --import tsx --import parent-watch <entry>` (node with tsx's loader, not the tsx CLI: the CLI
 * relays SIGTERM and SIGKILLs its child when the child has not acknowledged within 30 ms) and hands each output line to
 * `onLine`.
 */
export function launchChildService(
  spec: ChildServiceSpec,
  env: NodeJS.ProcessEnv,
  onLine: (line: string, stream: OutputStream) => void,
): Incarnation {
  // the workspace's own Node flags first (its package.json: some, like --initial-old-space-size, NODE_OPTIONS refuses),
  // and its glibc malloc settings (huge pages for the services that verify passwords), as the images run them, unless
  // the operator set theirs
  const { nodeFlags, mallocHugePages } = workspaceLaunch(spec.cwd);
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', '--import', PARENT_WATCH, spec.entry], {
    cwd: spec.cwd,
    env: withMallocTuning(env, mallocHugePages),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const streams = [
    [child.stdout, 'stdout'],
    [child.stderr, 'stderr'],
  ] as const;
  const drained = streams.map(([src, name]) => {
    let buf = '';
    src.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i), name);
        buf = buf.slice(i + 1);
      }
    });
    return new Promise<void>((resolve) =>
      src.on('close', () => {
        if (buf) onLine(buf, name);
        resolve();
      }),
    );
  });
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('error', (err) => resolve({ code: null, signal: null, error: err.message }));
    // after its last output lines (so a crash report includes them), unless a grandchild keeps the pipes open
    child.once('exit', (code, signal) => {
      const late = new Promise<void>((r) => setTimeout(r, DRAIN_AFTER_EXIT_MS).unref());
      void Promise.race([Promise.all(drained), late]).then(() => resolve({ code, signal }));
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid,
    exited,
    ready: (signal) => waitUntilReady(spec.readyUrl, signal),
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const force = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        const gone = once(child, 'exit');
        child.kill('SIGTERM');
        await gone;
        clearTimeout(force);
      })();
      return stopping;
    },
  };
}
