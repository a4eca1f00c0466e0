'use client';
import type { FormEvent, ReactNode } from 'react';
import { useHydrated } from '@/lib/use-hydrated';

/** A client-handled form whose controls are enabled once hydrated (see useHydrated). */
export function Form({ onSubmit, className, children, label }: { onSubmit: (e: FormEvent<HTMLFormElement>) => void; className?: string; children: ReactNode; label?: string }) {
  const hydrated = useHydrated();
  return (
    <form onSubmit={onSubmit} noValidate aria-label={label}>
      <fieldset disabled={!hydrated} data-hydrating={hydrated ? undefined : true} className={`min-w-0 ${className ?? ""}`}>
        {children}
      </fieldset>
    </form>
  );
}
