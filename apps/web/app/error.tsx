'use client';
import { buttonClass } from '@/components/ui';

export default function ErrorPage({ reset }: { error: Error; reset: () => void }) {
  return (
    <main id="main" className="flex min-h-[60dvh] items-center justify-center px-4 py-16">
      <div className="max-w-md text-center">
        <h1 className="text-2xl font-semibold tracking-tight text-slate-900">Something went wrong</h1>
        <p className="mt-2 text-sm text-slate-600">
          The panel could not load this page. The service may be restarting; try again in a moment.
        </p>
        <button type="button" onClick={reset} className={buttonClass('primary') + ' mt-6'}>
          Try again
        </button>
      </div>
    </main>
  );
}
