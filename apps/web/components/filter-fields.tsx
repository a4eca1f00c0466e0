// The pieces of a list's filters form (a plain GET form: it works before hydration and its URL can be shared), shared
// by the audit log, the delivery log and the sign-in log. Server-safe: no directive.
import Link from 'next/link';
import type { ComponentProps, ReactNode } from 'react';
import { Pager } from './pager';
import { Alert, buttonClass, Card, cx, EmptyState, inputClass, labelClass } from './ui';

/** A `from`/`to` filter's UTC day (YYYY-MM-DD) as the instant it starts, `plusDays` later; undefined when not a day. */
export function utcDay(d: string | undefined, plusDays = 0): string | undefined {
  if (!d || !/^\d{4}-\d{2}-\d{2}$/.test(d)) return undefined;
  const t = new Date(`${d}T00:00:00.000Z`);
  t.setUTCDate(t.getUTCDate() + plusDays);
  return t.toISOString();
}

/** A labelled text (or date) input of a filters form. */
export function FilterInput({ id, label, className, ...input }: { id: string; label: string } & Omit<ComponentProps<'input'>, 'id'>) {
  return (
    <div>
      <label htmlFor={id} className={labelClass}>
        {label}
      </label>
      <input id={id} {...input} className={cx(inputClass, 'mt-1', className)} />
    </div>
  );
}

/** A labelled select of a filters form: "Any" (no filter), then `options`. */
export function FilterSelect({
  id,
  label,
  name,
  value,
  options,
}: {
  id: string;
  label: string;
  name: string;
  value: string | undefined;
  options: { value: string; label: string }[];
}) {
  return (
    <div>
      <label htmlFor={id} className={labelClass}>
        {label}
      </label>
      <select id={id} name={name} defaultValue={value ?? ''} className={inputClass + ' mt-1'}>
        <option value="">Any</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** The "From" and "To" UTC days of a filters form (`from` and `to` in the query); `idPrefix` keeps the ids unique. */
export function DayRangeInputs({ idPrefix = '', from, to }: { idPrefix?: string; from: string | undefined; to: string | undefined }) {
  return (
    <>
      <FilterInput id={`${idPrefix}from`} label="From (UTC day)" name="from" type="date" defaultValue={from} />
      <FilterInput id={`${idPrefix}to`} label="To (UTC day, inclusive)" name="to" type="date" defaultValue={to} />
    </>
  );
}

/** "Apply filters", and "Clear" (back to `clearHref`) while any filter is set. */
export function FilterButtons({ clearHref, filtered, className }: { clearHref: string; filtered: boolean; className: string }) {
  return (
    <div className={className}>
      <button type="submit" className={buttonClass('primary')}>
        Apply filters
      </button>
      {filtered && (
        <Link href={clearHref} className={buttonClass('ghost')}>
          Clear
        </Link>
      )}
    </div>
  );
}

/** The alert above a list when the API refused its filters (a 400): its field errors or detail. */
export function InvalidFiltersAlert({
  answer: r,
}: {
  answer: { status: number; problem?: { errors?: { message: string }[]; detail?: string } };
}) {
  const invalid =
    r.status === 400 ? (r.problem?.errors?.map((e) => e.message).join('; ') ?? r.problem?.detail ?? 'Check the filters.') : undefined;
  if (!invalid) return null;
  return (
    <div className="mb-4">
      <Alert>The filters are not valid: {invalid}</Alert>
    </div>
  );
}

/**
 * A filtered list's page body: the Filters card (a GET form to `basePath` with `fields`, Apply and Clear), then the
 * list's card: why the API refused the filters (`answer`), `children` (the list) or, with no items, the empty state
 * ("No <noun> match these filters" when filtered), and the pager. `params` are the filters, without the cursor.
 */
export function FilteredList({
  basePath,
  fields,
  title,
  answer,
  page,
  params,
  cursor,
  empty,
  children,
}: {
  basePath: string;
  fields: ReactNode;
  title: string;
  answer: Parameters<typeof InvalidFiltersAlert>[0]['answer'];
  page: { items: unknown[]; nextCursor: string | null };
  params: Record<string, string | undefined>;
  cursor: string | undefined;
  empty: { noun: string; title: string; hint: string };
  children: ReactNode;
}) {
  const filtered = Object.values(params).some(Boolean);
  return (
    <>
      <Card className="mb-6" title="Filters">
        <form action={basePath} className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3">
          {fields}
          <FilterButtons clearHref={basePath} filtered={filtered} className="flex items-end gap-2" />
        </form>
      </Card>
      <Card title={title}>
        <InvalidFiltersAlert answer={answer} />
        {page.items.length === 0 ? (
          <EmptyState title={filtered ? `No ${empty.noun} match these filters` : empty.title}>
            {filtered ? 'Widen the time range or clear a filter.' : empty.hint}
          </EmptyState>
        ) : (
          children
        )}
        <Pager basePath={basePath} params={params} cursor={cursor} nextCursor={page.nextCursor} />
      </Card>
    </>
  );
}
