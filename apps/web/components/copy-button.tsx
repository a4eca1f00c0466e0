'use client';
import { useEffect, useState } from 'react';
import { useHydrated } from '@/lib/use-hydrated';
import { buttonClass } from './ui';

export function CopyButton({ value, label }: { value: string; label: string }) {
  const hydrated = useHydrated();
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 2500);
    return () => clearTimeout(t);
  }, [state]);
  async function copy() {
    try {
      await navigator.clipboard.writeText(value);
      setState('copied');
    } catch {
      setState('failed');
    }
  }
  return (
    <span className="inline-flex items-center gap-2">
      <button type="button" onClick={copy} disabled={!hydrated} className={buttonClass('secondary', 'sm')}>
        <svg aria-hidden="true" viewBox="0 0 20 20" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="1.6">
          <rect x="7" y="7" width="10" height="10" rx="1.5" />
          <path d="M13 7V4.5A1.5 1.5 0 0 0 11.5 3h-7A1.5 1.5 0 0 0 3 4.5v7A1.5 1.5 0 0 0 4.5 13H7" />
        </svg>
        Copy<span className="sr-only"> {label}</span>
      </button>
      <span
        role="status"
        className={state === 'failed' ? 'w-14 text-xs font-medium text-red-700' : 'w-14 text-xs font-medium text-green-800'}
      >
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Select it' : ''}
      </span>
    </span>
  );
}
