/**
 * Whether PostgreSQL's shared memory (shared_buffers, WAL buffers) sits in huge pages, and how many it would take.
 * PostgreSQL uses them by itself when the operating system has enough reserved (its default `huge_pages=try`), but
 * Linux reserves none unless told (`vm.nr_hugepages`). With 4 KiB pages every backend maps the shared memory it
 * touches one page fault at a time, and on a virtual machine a fault is dear: on the development machine, huge pages
 * cut PostgreSQL's CPU per stored 1 MB message by 21–29% (ingress README, item 21).
 */

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
 * otherwise, also when an operator turned them off): how many to reserve. `vm.nr_hugepages` is the host's (a container
 * cannot set it), and PostgreSQL takes them at its next start.
 */
export function hugePagesAdvice(report: HugePagesReport): string | undefined {
  if (report.setting !== 'try' || report.status !== 'off' || report.needed === null || report.needed <= 0) return undefined;
  return (
    `PostgreSQL's shared memory is not in huge pages: reserve ${report.needed} huge pages on the host ` +
    `(sysctl vm.nr_hugepages=${report.needed}, more if other programs use them) and restart PostgreSQL to cut its CPU per message (README, "Huge pages for PostgreSQL")`
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
  const advice = hugePagesAdvice(report);
  if (advice) log.info({ hugePages: report }, advice);
}
