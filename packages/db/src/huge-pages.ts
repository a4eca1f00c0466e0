/**
 * Whether PostgreSQL's shared memory (shared_buffers, WAL buffers) sits in huge pages, and how many it would take.
 * PostgreSQL uses them by itself when the operating system has enough reserved (its default `huge_pages=try`), but
 * Linux reserves none unless told (`vm.nr_hugepages`). With 4 KiB pages every backend maps the shared memory it
 * touches one page fault at a time, and on a virtual machine a fault is dear: on the development machine, huge pages
 * cut PostgreSQL's CPU per stored 1 MB message by 21–29% (ingress README, item 21). Linux can also back shared memory
 * with transparent huge pages (`shmem_enabled`), taken as it is touched instead of set aside: PostgreSQL's memory then
 * sits in 2 MiB pages while the server reports `huge_pages_status=off` (item 27).
 */
import { readFile } from 'node:fs/promises';

/** Where Linux says whether anonymous shared memory (PostgreSQL's) may use transparent huge pages. */
export const SHMEM_THP_FILE = '/sys/kernel/mm/transparent_hugepage/shmem_enabled';

/** Whether SHMEM_THP_FILE's `mode` gives PostgreSQL's shared memory transparent huge pages without its asking. */
export function thpCoversSharedMemory(mode: string | null): boolean {
  return mode === 'always' || mode === 'within_size' || mode === 'force';
}

/** The selected mode in SHMEM_THP_FILE's text (`always within_size advise [never] deny force` → `never`), else null. */
export function selectedThpMode(text: string): string | null {
  return /\[([a-z_]+)\]/.exec(text)?.[1] ?? null;
}

/** This kernel's mode for shared memory's transparent huge pages; null where there is no such setting (not Linux). */
export async function shmemThpMode(file = SHMEM_THP_FILE): Promise<string | null> {
  try {
    return selectedThpMode(await readFile(file, 'utf8'));
  } catch {
    return null;
  }
}

/** What the server reports; `null` where it does not (huge_pages_status is PostgreSQL 17's, the count 15's). */
export interface HugePagesReport {
  /** The `huge_pages` setting: `try` (the default: use them if there are enough), `on` (required) or `off` (never). */
  setting: string | null;
  /** `on`, `off` or `unknown` (not Linux). */
  status: string | null;
  /** Huge pages its shared memory needs (`shared_memory_size_in_huge_pages`, -1 where huge pages are unsupported). */
  needed: number | null;
}

interface Queryable {
  query(sql: string): Promise<{ rows: Record<string, unknown>[] }>;
}

export async function hugePagesReport(db: Queryable): Promise<HugePagesReport> {
  const { rows } = await db.query(
    `SELECT current_setting('huge_pages', true) AS setting,
            current_setting('huge_pages_status', true) AS status,
            current_setting('shared_memory_size_in_huge_pages', true) AS needed`,
  );
  const row = rows[0] ?? {};
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  const needed = typeof row.needed === 'string' && /^-?\d+$/.test(row.needed) ? Number(row.needed) : null;
  return { setting: text(row.setting), status: text(row.status), needed };
}

/**
 * A line for the operator when PostgreSQL would take huge pages (`huge_pages=try`) and found too few (undefined
 * otherwise, also when an operator turned them off, or when `shmemThp`, the kernel's shared-memory mode, already gives
 * it transparent ones): how many to reserve, or the transparent huge pages setting where the kernel has one. Both are
 * the host's (a container cannot set them); reserved pages are taken at PostgreSQL's next start, transparent ones as
 * its memory is next mapped (a restart maps all of it anew).
 */
export function hugePagesAdvice(report: HugePagesReport, shmemThp: string | null = null): string | undefined {
  if (report.setting !== 'try' || report.status !== 'off' || report.needed === null || report.needed <= 0) return undefined;
  if (thpCoversSharedMemory(shmemThp)) return undefined;
  const transparent =
    shmemThp === null
      ? ''
      : `, or let shared memory take transparent huge pages, which sets no memory aside ` +
        `(echo within_size > ${SHMEM_THP_FILE}; now ${shmemThp})`;
  return (
    `PostgreSQL's shared memory is not in huge pages: reserve ${report.needed} huge pages on the host ` +
    `(sysctl vm.nr_hugepages=${report.needed}, more if other programs use them)${transparent}, and restart PostgreSQL ` +
    `to cut its CPU per message (README, "Huge pages for PostgreSQL")`
  );
}

/**
 * At a service's start (`npm start`'s supervisor, the deployment's migrate step): logs the advice with its report when
 * it is due. Never throws: a server that cannot be asked gets no line, since this is never a reason to fail a start.
 */
export async function logHugePagesAdvice(db: Queryable, log: { info(fields: object, message: string): void }): Promise<void> {
  let report: HugePagesReport;
  try {
    report = await hugePagesReport(db);
  } catch {
    return;
  }
  // this process's kernel: PostgreSQL's too for npm start's embedded server and a docker-compose host
  const shmemThp = await shmemThpMode();
  const advice = hugePagesAdvice(report, shmemThp);
  if (advice) log.info({ hugePages: { ...report, shmemThp } }, advice);
}
