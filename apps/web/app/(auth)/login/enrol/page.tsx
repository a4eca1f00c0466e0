import type { Metadata } from 'next';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { Logo } from '@/components/logo';
import { getMe } from '@/lib/api';
import { EnrolForm } from './enrol-form';

export const metadata: Metadata = { title: 'Set up two-factor authentication' };

export default async function EnrolPage() {
  // A signed-in visitor goes home, but not while the enrolment's own server action renders this page again: it has just
  // started the session (its cookie) and the page must stay to show the recovery codes.
  if ((await getMe()) && !(await headers()).has('next-action')) redirect('/');
  return (
    <main id="main" className="flex min-h-dvh items-center justify-center px-4 py-12">
      <div className="w-full max-w-xl">
        <div className="mb-8 flex justify-center">
          <Logo />
        </div>
        <div className="rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200 sm:p-8">
          <h1 className="text-xl font-semibold tracking-tight text-slate-900">Set up two-factor authentication</h1>
          <p className="mt-1 text-sm text-slate-600">
            Your provider requires a second factor for your account. Set it up once to finish signing in.
          </p>
          <EnrolForm />
        </div>
      </div>
    </main>
  );
}
