import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { getMe } from '@/lib/api';
import { AuthCard } from '../auth-card';
import { LoginForm } from './login-form';
import { PasskeySignIn } from './passkey-sign-in';

export const metadata: Metadata = { title: 'Sign in' };

export default async function LoginPage() {
  if (await getMe()) redirect('/');
  return (
    <AuthCard
      width="max-w-sm"
      title="Sign in"
      description="Domain owners and admins use their account email. Mailbox users sign in with their full address."
    >
      <LoginForm />
      <PasskeySignIn />
    </AuthCard>
  );
}
