'use client';
import { useLinkStatus } from 'next/link';

/** A small spinner inside a Link while its navigation is pending (loading feedback without a layout shift). */
export function LinkPending() {
  const { pending } = useLinkStatus();
  return (
    <span aria-hidden="true" className="pointer-events-none absolute top-1/2 right-0.5 h-3 w-3 -translate-y-1/2">
      {pending && (
        <svg viewBox="0 0 24 24" className="h-full w-full animate-spin" fill="none">
          <circle cx="12" cy="12" r="9" stroke="currentColor" strokeOpacity="0.25" strokeWidth="3" />
          <path d="M21 12a9 9 0 0 0-9-9" stroke="currentColor" strokeWidth="3" strokeLinecap="round" />
        </svg>
      )}
    </span>
  );
}
