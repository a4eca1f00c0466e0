// The panel's visual system: a handful of server-safe building blocks on Tailwind. Client pieces live beside it.
import Link from 'next/link';
import type { ComponentProps, ReactNode } from 'react';
import { formatBytes, percent } from '@/lib/format';
import { LinkPending } from './link-pending';

export function cx(...parts: (string | false | null | undefined)[]): string {
  return parts.filter(Boolean).join(' ');
}

type Variant = 'primary' | 'secondary' | 'danger' | 'ghost';
const VARIANTS: Record<Variant, string> = {
  primary: 'bg-brand-600 text-white hover:bg-brand-700 shadow-sm disabled:bg-brand-600/60',
  secondary: 'bg-white text-slate-800 ring-1 ring-inset ring-slate-300 hover:bg-slate-50 shadow-sm disabled:text-slate-500',
  danger: 'bg-red-700 text-white hover:bg-red-800 shadow-sm disabled:bg-red-700/60',
  ghost: 'text-slate-700 hover:bg-slate-100',
};

export function buttonClass(variant: Variant = 'primary', size: 'sm' | 'md' = 'md'): string {
  return cx(
    'inline-flex items-center justify-center gap-2 rounded-md font-medium transition-colors disabled:cursor-not-allowed',
    size === 'sm' ? 'px-2.5 py-1.5 text-sm' : 'px-4 py-2 text-sm',
    VARIANTS[variant],
  );
}

export function ButtonLink({
  variant = 'primary',
  size = 'md',
  className,
  children,
  ...props
}: ComponentProps<typeof Link> & { variant?: Variant; size?: 'sm' | 'md' }) {
  return (
    <Link {...props} className={cx(buttonClass(variant, size), 'relative', className)}>
      {children}
      <LinkPending />
    </Link>
  );
}

export function PageHeader({
  title,
  description,
  actions,
  back,
}: {
  title: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
  back?: { href: string; label: string };
}) {
  return (
    <header className="mb-6">
      {back && (
        <Link href={back.href} className="mb-2 inline-block rounded text-sm font-medium text-brand-700 hover:underline">
          ← {back.label}
        </Link>
      )}
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div className="min-w-0">
          <h1 className="text-2xl font-semibold tracking-tight wrap-anywhere text-slate-900">{title}</h1>
          {description && <p className="mt-1 text-sm text-slate-600">{description}</p>}
        </div>
        {actions && <div className="flex flex-wrap gap-2">{actions}</div>}
      </div>
    </header>
  );
}

export function Card({
  title,
  description,
  actions,
  children,
  className,
  id,
}: {
  title?: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  id?: string;
}) {
  const headingId = id ? `${id}-title` : undefined;
  return (
    <section
      id={id}
      aria-labelledby={title ? headingId : undefined}
      className={cx('rounded-lg bg-white shadow-sm ring-1 ring-slate-200', className)}
    >
      {(title || actions) && (
        <div className="flex flex-wrap items-start justify-between gap-3 border-b border-slate-200 px-4 py-3 sm:px-6">
          <div>
            {title && (
              <h2 id={headingId} className="text-base font-semibold text-slate-900">
                {title}
              </h2>
            )}
            {description && <p className="mt-0.5 text-sm wrap-anywhere text-slate-600">{description}</p>}
          </div>
          {actions && <div className="flex flex-wrap gap-2">{actions}</div>}
        </div>
      )}
      <div className="px-4 py-4 sm:px-6">{children}</div>
    </section>
  );
}

/**
 * A list's search box: a GET form sending `q` to `action`, its label for screen readers only; with `clearable`, a
 * "Clear" link back to `action` while a search is shown.
 */
export function SearchForm({
  action,
  id,
  label,
  placeholder,
  q,
  clearable = false,
}: {
  action: string;
  id: string;
  label: string;
  placeholder: string;
  q: string | undefined;
  clearable?: boolean;
}) {
  return (
    <form role="search" action={action} className="mb-4 flex gap-2">
      <label htmlFor={id} className="sr-only">
        {label}
      </label>
      <input id={id} name="q" type="search" defaultValue={q} placeholder={placeholder} className={inputClass + ' max-w-sm'} />
      <button type="submit" className={buttonClass('secondary')}>
        Search
      </button>
      {clearable && q && (
        <Link href={action} className={buttonClass('ghost')}>
          Clear
        </Link>
      )}
    </form>
  );
}

/** A column of a ListTable: its heading, and the heading cell's classes when it is not a plain column (hidden on phones). */
export type ListColumn = string | { label: ReactNode; className: string };

/**
 * A list's table inside a Card: it scrolls sideways within the Card's edges, has a caption for screen readers and a row
 * of column headings (the first indented like the Card); `children` is its tbody.
 */
export function ListTable({ caption, columns, children }: { caption: ReactNode; columns: ListColumn[]; children: ReactNode }) {
  return (
    <div className="-mx-4 overflow-x-auto sm:-mx-6">
      <table className="min-w-full text-left text-sm">
        <caption className="sr-only">{caption}</caption>
        <thead className="border-b border-slate-200 text-xs font-semibold tracking-wide text-slate-600 uppercase">
          <tr>
            {columns.map((c, i) => {
              const { label, className } = typeof c === 'string' ? { label: c, className: i === 0 ? 'px-4 py-2 sm:px-6' : 'px-4 py-2' } : c;
              return (
                <th key={i} scope="col" className={className}>
                  {label}
                </th>
              );
            })}
          </tr>
        </thead>
        {children}
      </table>
    </div>
  );
}

export function UsageBar({ used, limit, label }: { used: number; limit: number | null | undefined; label: string }) {
  const pct = percent(used, limit);
  const tone = pct === null ? 'bg-brand-600' : pct >= 90 ? 'bg-red-600' : pct >= 75 ? 'bg-amber-500' : 'bg-brand-600';
  const text =
    limit === null || limit === undefined ? `${formatBytes(used)} used, no limit` : `${formatBytes(used)} of ${formatBytes(limit)}`;
  return (
    <div className="min-w-28">
      <div
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={limit ?? Math.max(used, 1)}
        aria-valuenow={used}
        aria-valuetext={text}
        className="h-1.5 w-full overflow-hidden rounded-full bg-slate-200"
      >
        <div className={cx('h-full rounded-full', tone)} style={{ width: `${pct ?? (used > 0 ? 4 : 0)}%` }} />
      </div>
      <p className="mt-1 text-xs text-slate-600">{text}</p>
    </div>
  );
}

export function CountUsage({ used, limit, noun }: { used: number; limit: number | null | undefined; noun: string }) {
  return (
    <span className="text-sm text-slate-700">
      {used}
      {limit !== null && limit !== undefined ? ` of ${limit}` : ''} {noun}
      {limit === null || limit === undefined ? '' : ''}
    </span>
  );
}

export function Stat({ label, value, sub }: { label: string; value: ReactNode; sub?: ReactNode }) {
  return (
    <div className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <dt className="text-sm font-medium text-slate-600">{label}</dt>
      <dd className="mt-1 text-2xl font-semibold tracking-tight text-slate-900">{value}</dd>
      {sub && <dd className="mt-2">{sub}</dd>}
    </div>
  );
}

export function Badge({ tone = 'slate', children }: { tone?: 'green' | 'slate' | 'red' | 'amber' | 'brand'; children: ReactNode }) {
  const tones = {
    green: 'bg-green-50 text-green-800 ring-green-600/20',
    slate: 'bg-slate-100 text-slate-700 ring-slate-500/20',
    red: 'bg-red-50 text-red-800 ring-red-600/20',
    amber: 'bg-amber-50 text-amber-900 ring-amber-600/30',
    brand: 'bg-brand-50 text-brand-800 ring-brand-600/20',
  };
  return (
    <span className={cx('inline-flex items-center rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset', tones[tone])}>
      {children}
    </span>
  );
}

export function EmptyState({
  title,
  children,
  action,
  level = 3,
}: {
  title: string;
  children?: ReactNode;
  action?: ReactNode;
  level?: 2 | 3;
}) {
  const Heading = level === 2 ? 'h2' : 'h3';
  return (
    <div className="rounded-lg border-2 border-dashed border-slate-300 px-6 py-10 text-center">
      <Heading className="text-sm font-semibold text-slate-900">{title}</Heading>
      {children && <p className="mx-auto mt-1 max-w-md text-sm text-slate-600">{children}</p>}
      {action && <div className="mt-4">{action}</div>}
    </div>
  );
}

export function Alert({ tone = 'error', children, id }: { tone?: 'error' | 'success' | 'info'; children: ReactNode; id?: string }) {
  const tones = {
    error: 'bg-red-50 text-red-800 ring-red-600/20',
    success: 'bg-green-50 text-green-800 ring-green-600/20',
    info: 'bg-brand-50 text-brand-800 ring-brand-600/20',
  };
  return (
    <div id={id} role={tone === 'error' ? 'alert' : 'status'} className={cx('rounded-md px-3 py-2 text-sm ring-1 ring-inset', tones[tone])}>
      {children}
    </div>
  );
}

export const inputClass =
  'block w-full rounded-md border-0 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 placeholder:text-slate-500 focus:ring-2 focus:ring-inset focus:ring-brand-600 focus:outline-none aria-[invalid=true]:ring-red-600 disabled:bg-slate-100';

export const labelClass = 'block text-sm font-medium text-slate-800';

export function Field({
  id,
  label,
  hint,
  error,
  children,
  optional,
}: {
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  error?: string;
  children: ReactNode;
  optional?: boolean;
}) {
  return (
    <div>
      <label htmlFor={id} className={labelClass}>
        {label}
        {optional && <span className="ml-1 font-normal text-slate-600">(optional)</span>}
      </label>
      <div className="mt-1">{children}</div>
      {hint && !error && (
        <p id={`${id}-hint`} className="mt-1 text-xs text-slate-600">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="mt-1 text-xs font-medium text-red-700">
          {error}
        </p>
      )}
    </div>
  );
}

/** A Field around one input (`inputClass`, plus `className`), tied to the Field's label, hint and error. */
export function TextField({
  id,
  label,
  hint,
  error,
  optional,
  className,
  ...input
}: { id: string; label: ReactNode; hint?: ReactNode; error?: string; optional?: boolean } & Omit<ComponentProps<'input'>, 'id'>) {
  return (
    <Field id={id} label={label} hint={hint} error={error} optional={optional}>
      <input id={id} {...input} className={cx(inputClass, className)} {...describedBy(id, error, !!hint)} />
    </Field>
  );
}

/** One choice of several: radio buttons named `name` under a legend, `value` checked, an error below them. */
export function RadioGroup({
  legend,
  name,
  choices,
  value,
  error,
  optionClass,
}: {
  legend: ReactNode;
  name: string;
  choices: readonly (readonly [string, ReactNode])[];
  value: string;
  error?: string | undefined;
  /** Extra class of one option's input (e.g. a marker a sibling's CSS reacts to). */
  optionClass?: (value: string) => string | false | undefined;
}) {
  return (
    <fieldset>
      <legend className="text-sm font-medium text-slate-800">{legend}</legend>
      <div className="mt-1 space-y-1 text-sm text-slate-800">
        {choices.map(([v, text]) => (
          <label key={v} className="flex items-center gap-2">
            <input
              type="radio"
              name={name}
              value={v}
              defaultChecked={value === v}
              className={cx('h-4 w-4 accent-brand-600', optionClass?.(v))}
            />
            {text}
          </label>
        ))}
      </div>
      {error && <p className="mt-1 text-xs font-medium text-red-700">{error}</p>}
    </fieldset>
  );
}

/** aria attributes tying an input to its Field's hint and error. */
export function describedBy(id: string, error?: string, hint?: boolean): { 'aria-invalid'?: boolean; 'aria-describedby'?: string } {
  if (error) return { 'aria-invalid': true, 'aria-describedby': `${id}-error` };
  return hint ? { 'aria-describedby': `${id}-hint` } : {};
}
