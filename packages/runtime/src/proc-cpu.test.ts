import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { processCpuMs, processTreeCpuMs } from './proc-cpu.ts';

/**
 * Busy until the process has used `ms` of CPU in all (Node's start counts, often more), then prints its own count
 * (getrusage, to the microsecond) and idles.
 */
const busyThenReport = (ms: number) =>
  `const u = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
   while (u() < ${ms}) {}
   process.stdout.write(JSON.stringify({ self: u() }) + '\\n');
   process.stdin.resume();`;

/** A process that first runs a grandchild to its end (so it is reaped), then reports its own CPU and the grandchild's. */
const withReapedChild = `const { spawnSync } = require('node:child_process');
   const r = spawnSync(process.execPath, ['-e', ${JSON.stringify(busyThenReport(80).replace('process.stdin.resume();', ''))}]);
   const child = JSON.parse(r.stdout.toString()).self;
   ${busyThenReport(30).replace('JSON.stringify({ self: u() })', 'JSON.stringify({ self: u(), child })')}`;

const running: ChildProcessWithoutNullStreams[] = [];
afterEach(() => running.splice(0).forEach((c) => c.kill()));

async function start(script: string): Promise<{ pid: number; report: { self: number; child?: number } }> {
  const child = spawn(process.execPath, ['-e', script]);
  running.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
  return { pid: child.pid!, report: JSON.parse(line) as { self: number; child?: number } };
}

describe.runIf(existsSync('/proc/self/task'))('CPU time from /proc', () => {
  it("reads a live process's CPU to the millisecond, as the process itself counts it (not in 10 ms clock ticks)", async () => {
    const { pid, report } = await start(busyThenReport(45));
    const read = processCpuMs(pid);
    // the process idles after reporting, so the reading may exceed its own count only by what printing (and V8's
    // background threads finishing) cost: a few ms, more on a loaded machine; a thread counted twice would add ~45
    expect(read).toBeGreaterThanOrEqual(report.self - 0.5);
    expect(read - report.self).toBeLessThan(15);
    // no children: the process alone, read a moment later; V8's threads may still be finishing in between (10.6 ms
    // once, on a machine running CI beside other test suites), so the same bound: counted twice would add ~45
    const tree = processTreeCpuMs(pid);
    expect(tree).toBeGreaterThanOrEqual(read);
    expect(tree - read).toBeLessThan(15);
  });

  it("counts a process tree's children that already exited (in ticks) beside the live ones", async () => {
    const { pid, report } = await start(withReapedChild);
    const tree = processTreeCpuMs(pid);
    // the reaped grandchild is known to its parent only in 10 ms ticks (cutime + cstime, each rounded down, so up to
    // 20 ms short: seen once, 90 for a grandchild that reported 100.5); it also spent CPU after its report, printing
    // and exiting (12+ ms once on a loaded CI machine), so the bound above leaves 30 ms: a grandchild counted twice
    // would add its 80 ms and more
    expect(tree).toBeGreaterThanOrEqual(report.self + report.child! - 20);
    expect(tree).toBeLessThan(report.self + report.child! + 30);
    expect(tree - processCpuMs(pid)).toBeGreaterThanOrEqual(report.child! - 20);
  });

  it('reads 0 for a process that is gone', () => {
    expect(processCpuMs(2 ** 22 + 1)).toBe(0);
    expect(processTreeCpuMs(2 ** 22 + 1)).toBe(0);
  });
});
