'use client';
import { useEffect, useId, useState } from 'react';
import { useApi } from '@/lib/client';
import type { Page } from '@/lib/types';
import { useHydrated } from '@/lib/use-hydrated';
import { buttonClass, inputClass } from './ui';

export interface PickerOption {
  id: string;
  label: string;
}

/** Results shown per search: the picker asks the API again as the user types, so nothing is capped at a first page. */
export const PICKER_RESULTS = 20;
const TYPE_AHEAD_MS = 200;

/**
 * Type-ahead picker over a paginated API list with a `q` filter (mailboxes of a domain, owners, domains): each
 * keystroke (debounced) asks `${path}?q=…&limit=20`, so any item is reachable whatever the list's length. Single or
 * multiple choice; chosen items are shown as removable chips and kept across searches.
 */
export function SearchPicker<T>({
  label,
  path,
  toOption,
  selected,
  onChange,
  multiple = true,
  placeholder = 'Type to search',
  filter,
}: {
  label: string;
  /** API list path without query, e.g. `/domains/{id}/mailboxes`. */
  path: string;
  toOption: (item: T) => PickerOption;
  selected: PickerOption[];
  onChange: (next: PickerOption[]) => void;
  multiple?: boolean;
  placeholder?: string;
  /** Hides results the caller cannot use (e.g. disabled owners). */
  filter?: (item: T) => boolean;
}) {
  const api = useApi();
  const hydrated = useHydrated();
  const id = useId();
  const [q, setQ] = useState('');
  const [results, setResults] = useState<PickerOption[]>([]);
  const [more, setMore] = useState(false);
  const [state, setState] = useState<'idle' | 'loading' | 'error'>('idle');

  useEffect(() => {
    let cancelled = false;
    const timer = setTimeout(async () => {
      setState('loading');
      const sep = path.includes('?') ? '&' : '?';
      const r = await api<Page<T>>('GET', `${path}${sep}limit=${PICKER_RESULTS}${q.trim() ? `&q=${encodeURIComponent(q.trim())}` : ''}`);
      if (cancelled) return;
      if (!r.ok) return setState('error');
      setResults(r.data.items.filter((x) => !filter || filter(x)).map(toOption));
      setMore(r.data.nextCursor !== null);
      setState('idle');
    }, TYPE_AHEAD_MS);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- toOption/filter are the caller's render-time helpers: the query depends on path and text only
  }, [api, path, q]);

  const isSelected = (o: PickerOption) => selected.some((s) => s.id === o.id);
  const toggle = (o: PickerOption, on: boolean) =>
    onChange(on ? (multiple ? [...selected.filter((s) => s.id !== o.id), o] : [o]) : selected.filter((s) => s.id !== o.id));

  return (
    <fieldset>
      <legend className="text-sm font-medium text-slate-800">{label}</legend>
      {selected.length > 0 && (
        <ul aria-label={`Chosen: ${label}`} className="mt-1 flex flex-wrap gap-1">
          {selected.map((s) => (
            <li
              key={s.id}
              className="inline-flex items-center gap-1 rounded-full bg-brand-50 px-2 py-0.5 text-xs text-brand-900 ring-1 ring-brand-600/20 ring-inset"
            >
              <span className="break-all">{s.label}</span>
              <button
                type="button"
                className="rounded px-1 font-semibold hover:bg-brand-100"
                aria-label={`Remove ${s.label}`}
                onClick={() => toggle(s, false)}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <label htmlFor={`${id}-q`} className="sr-only">
        Search: {label}
      </label>
      <input
        id={`${id}-q`}
        type="search"
        role="searchbox"
        value={q}
        disabled={!hydrated}
        onChange={(e) => setQ(e.target.value)}
        onKeyDown={(e) => e.key === 'Enter' && e.preventDefault()}
        placeholder={placeholder}
        autoCapitalize="none"
        spellCheck={false}
        className={inputClass + ' mt-1'}
      />
      <div
        className="mt-1 max-h-48 space-y-1 overflow-y-auto rounded-md p-2 ring-1 ring-slate-200 ring-inset"
        aria-live="polite"
        aria-busy={state === 'loading'}
      >
        {state === 'error' && <p className="text-sm text-red-700">Search failed. Try again.</p>}
        {state !== 'error' && results.length === 0 && (
          <p className="text-sm text-slate-600">{state === 'loading' ? 'Searching…' : 'No match.'}</p>
        )}
        {results.map((o) => (
          <label key={o.id} className="flex items-center gap-2 text-sm text-slate-800">
            <input
              type={multiple ? 'checkbox' : 'radio'}
              name={`${id}-pick`}
              value={o.id}
              checked={isSelected(o)}
              onChange={(e) => toggle(o, e.target.checked)}
              className="h-4 w-4 rounded border-slate-300 accent-brand-600"
            />
            <span className="break-all">{o.label}</span>
          </label>
        ))}
        {more && <p className="text-xs text-slate-600">More match: type more of the name to narrow the list.</p>}
      </div>
      {!multiple && selected.length > 0 && (
        <button type="button" className={buttonClass('ghost', 'sm') + ' mt-1'} onClick={() => onChange([])}>
          Clear choice
        </button>
      )}
    </fieldset>
  );
}
