import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';

/**
 * Maildrop lease holder names: `<host>:<boot id>:<pid namespace>:<pid>:<nonce>`. They let a POP3 process tell that a
 * lease's holder ran on this very machine (same host name, same boot, same pid namespace) and is gone: its pid no
 * longer exists, or it is this process's own pid under another nonce (a restarted container reuses pid 1). Such leases
 * are released at once (at start, and when a login meets one) instead of after POP3_LEASE_TTL_S. Anything else (another
 * host or container, a reused pid, a system without /proc) counts as alive and waits for the lease to lapse.
 */
export interface HolderScope {
  /** `<host>:<boot id>:<pid namespace>:`, the prefix every holder name of this machine and pid namespace starts with. */
  prefix: string;
  /** False where boot id or pid namespace cannot be read: then no holder is ever judged dead here. */
  checkable: boolean;
}

function readOr(read: () => string): string {
  try {
    return read().trim();
  } catch {
    return '';
  }
}

let cachedScope: HolderScope | undefined;

export function localHolderScope(): HolderScope {
  if (cachedScope) return cachedScope;
  const host = os.hostname().replaceAll(':', '_');
  const boot = readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
  const pidNs = /\[(\d+)\]/.exec(readOr(() => readlinkSync('/proc/self/ns/pid')))?.[1] ?? '';
  cachedScope = { prefix: `${host}:${boot}:${pidNs}:`, checkable: boot !== '' && pidNs !== '' };
  return cachedScope;
}

export function createHolderName(scope = localHolderScope(), pid = process.pid): string {
  return `${scope.prefix}${pid}:${randomBytes(6).toString('hex')}`;
}

export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Holder names of the POP3 servers running in this process (several in tests): never judged dead. */
const runningHere = new Set<string>();
export function registerRunningHolder(holder: string): () => void {
  runningHere.add(holder);
  return () => runningHere.delete(holder);
}

/**
 * True only when `holder` certainly is a dead process of this machine's pid namespace: its pid is gone, or it is this
 * process's pid but no server running here has that name (the predecessor a restarted container's pid 1 replaced).
 */
export function isDeadLocalHolder(holder: string, scope = localHolderScope(), exists = processExists, pid = process.pid): boolean {
  if (!scope.checkable || runningHere.has(holder) || !holder.startsWith(scope.prefix)) return false;
  const m = /^(\d+):[0-9a-f]+$/.exec(holder.slice(scope.prefix.length));
  if (!m) return false;
  const holderPid = Number(m[1]);
  return holderPid === pid || !exists(holderPid);
}
