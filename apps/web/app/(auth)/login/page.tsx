import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { Logo } from '@/components/logo';
import { getMe } from '@/lib/api';
import { LoginForm } from './login-form';
import { PasskeySignIn } from './passkey-sign-in';

export const metadata: Metadata = { title: 'Sign in' };

export default async function LoginPage() {
  if (await getMe()) redirect('/');
  return (
    <main id="main" className="flex min-h-dvh items-center justify-center px-4 py-12">
      <div className="w-full max-w-sm">
        <div className="mb-8 flex justify-center">
          <Logo />
        </div>
        <div className="rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200 sm:p-8">
          <h1 className="text-xl font-semibold tracking-tight text-slate-900">Sign in</h1>
          <p className="mt-1 text-sm text-slate-600">
            Domain owners and admins use their account email. Mailbox users sign in with their full address.
          </p>
          <LoginForm />
          <PasskeySignIn />
        </div>
      </div>
    </main>
  );
}
