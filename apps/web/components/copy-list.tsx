// Label / value rows with a copy button per copyable value (connection settings, the verification record).
// No hooks: usable from server and client components.
import { CopyButton } from './copy-button';
import { cx } from './ui';

export interface CopyRow {
  label: string;
  value: string;
  /** The copy button's accessible name after "Copy " (default: the label); false: not copyable. */
  copy?: string | boolean;
}

export function CopyList({ rows, labelClass = 'w-44' }: { rows: CopyRow[]; labelClass?: string }) {
  return (
    <dl className="divide-y divide-slate-100">
      {rows.map((r) => (
        <div key={r.label} className="flex flex-wrap items-center justify-between gap-2 py-2 sm:flex-nowrap">
          <dt className={cx(labelClass, 'shrink-0 text-sm font-medium text-slate-600')}>{r.label}</dt>
          <dd className={cx('min-w-0 flex-1 text-sm break-all text-slate-900', r.copy && 'font-mono')}>{r.value}</dd>
          {r.copy && (
            <dd className="shrink-0">
              <CopyButton value={r.value} label={typeof r.copy === 'string' ? r.copy : r.label} />
            </dd>
          )}
        </div>
      ))}
    </dl>
  );
}
