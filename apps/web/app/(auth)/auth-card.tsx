import type { ReactNode } from 'react';
import { Logo } from '@/components/logo';

/** A signed-out page (sign-in, two-factor enrolment): the logo above one centred card with the page's heading. */
export function AuthCard({
  width,
  title,
  description,
  children,
}: {
  width: 'max-w-sm' | 'max-w-xl';
  title: string;
  description: ReactNode;
  children: ReactNode;
}) {
  return (
    <main id="main" className="flex min-h-dvh items-center justify-center px-4 py-12">
      <div className={`w-full ${width}`}>
        <div className="mb-8 flex justify-center">
          <Logo />
        </div>
        <div className="rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200 sm:p-8">
          <h1 className="text-xl font-semibold tracking-tight text-slate-900">{title}</h1>
          <p className="mt-1 text-sm text-slate-600">{description}</p>
          {children}
        </div>
      </div>
    </main>
  );
}
