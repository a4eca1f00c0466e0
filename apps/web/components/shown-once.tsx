import type { ReactNode } from 'react';
import { CopyButton } from './copy-button';

/** A freshly created secret (API key, app password) shown once, with a copy button. */
export function ShownOnce({
  title,
  value,
  label,
  testId,
  children,
}: {
  title: ReactNode;
  value: string;
  label: string;
  testId: string;
  children?: ReactNode;
}) {
  return (
    <div className="mb-6 rounded-md bg-green-50 p-4 ring-1 ring-green-600/20 ring-inset" role="status">
      <p className="text-sm font-semibold text-green-900">{title}</p>
      <div className="mt-2 flex flex-wrap items-center gap-2">
        <code
          className="min-w-0 flex-1 rounded bg-white px-2 py-1.5 font-mono text-sm break-all text-slate-900 ring-1 ring-slate-200"
          data-testid={testId}
        >
          {value}
        </code>
        <CopyButton value={value} label={label} />
      </div>
      {children}
    </div>
  );
}
