import type { ReactNode } from 'react';

const TONES = {
  amber: 'bg-amber-50 text-amber-900 ring-amber-600/30',
  red: 'bg-red-50 text-red-900 ring-red-600/30',
} as const;

/** A titled notice at the top of the dashboard (needs attention, quota, webhooks, known passwords): a landmark section. */
export function DashboardNotice({
  id,
  tone,
  title,
  children,
}: {
  id: string;
  tone: keyof typeof TONES;
  title: ReactNode;
  children: ReactNode;
}) {
  return (
    <section aria-labelledby={`${id}-title`} className={`mb-6 rounded-lg px-4 py-3 text-sm ring-1 ring-inset ${TONES[tone]}`}>
      <h2 id={`${id}-title`} className="font-semibold">
        {title}
      </h2>
      {children}
    </section>
  );
}
