/**
 * CPU time of processes from Linux's /proc, for benchmarks: one process, or a whole process tree (a PostgreSQL cluster,
 * a Dovecot instance), so a server's cost can be reported beside its throughput. Not for production code.
 *
 * A live process's time is the scheduler's own count, in nanoseconds (`/proc/<pid>/task/<tid>/schedstat`, summed over
 * its threads): `/proc/<pid>/stat` gives it in clock ticks of 10 ms, coarser than what one 50 MiB download costs a
 * server (30–90 ms), so a per-download figure read from ticks could be a third off. Children already reaped are only
 * known in ticks (their parent's cutime + cstime).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's time fields (USER_HZ, 100 on Linux). */
const CLK_TCK = 100;

export interface ProcStat {
  comm: string;
  ppid: number;
  /** utime + stime of the process itself, in clock ticks. */
  cpuTicks: number;
  /** cutime + cstime: its children that exited and that it reaped (with their own reaped children), in clock ticks. */
  reapedTicks: number;
}

/** One process's /proc/<pid>/stat fields that matter here; undefined when it is gone (or not Linux). */
export function procStat(pid: number | string): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    // fields after the command name, from field 3 (state): ppid is field 4, utime..cstime are fields 14..17
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { comm, ppid: Number(f[1]), cpuTicks: Number(f[11]) + Number(f[12]), reapedTicks: Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined;
  }
}

/**
 * CPU ms the live threads of a process have run so far, from the scheduler's nanosecond count; undefined when the
 * process is gone or the kernel does not report it (no CONFIG_SCHED_INFO). A thread that already exited is not counted:
 * Node, PostgreSQL and Dovecot keep theirs for the process's life.
 */
function threadsCpuMs(pid: number | string): number | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let ns = 0;
  let seen = 0;
  for (const tid of tids) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ', 1)[0]);
      seen++;
    } catch {
      // the thread exited meanwhile, or no schedstat
    }
  }
  return seen && Number.isFinite(ns) ? ns / 1e6 : undefined;
}

/** CPU ms of a live process: the scheduler's count, else its stat's ticks (`cpuTicks`, read only when needed). */
function liveCpuMs(pid: number, cpuTicks: () => number): number {
  return threadsCpuMs(pid) ?? (cpuTicks() * 1000) / CLK_TCK;
}

/** CPU ms (user + system) one process has used so far; 0 when it is gone. */
export function processCpuMs(pid: number): number {
  return liveCpuMs(pid, () => procStat(pid)?.cpuTicks ?? 0);
}

/**
 * CPU ms (user + system) used so far by a process and all its descendants, including descendants that already exited
 * and were reaped inside the tree (a PostgreSQL backend of a closed connection, a Dovecot pop3 process of a finished
 * session): compare two readings to get what a piece of work cost the whole server.
 */
export function processTreeCpuMs(root: number): number {
  const stats = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(name);
    if (st) stats.set(Number(name), st);
  }
  const children = new Map<number, number[]>();
  for (const [pid, st] of stats) children.set(st.ppid, [...(children.get(st.ppid) ?? []), pid]);
  let ms = 0;
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    const st = stats.get(pid);
    if (!st) continue;
    ms += liveCpuMs(pid, () => st.cpuTicks) + (st.reapedTicks * 1000) / CLK_TCK;
    todo.push(...(children.get(pid) ?? []));
  }
  return ms;
}

/**
 * CPU ms all cores of the machine have been busy so far (/proc/stat: every state but idle and iowait). Minus the
 * processes a benchmark measured, it is what other work took meanwhile: a figure to judge the noise by.
 */
export function machineBusyCpuMs(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
  const busy = cpu.slice(0, 8).reduce((a, b) => a + b, 0) - (cpu[3] ?? 0) - (cpu[4] ?? 0);
  return (busy * 1000) / CLK_TCK;
}
