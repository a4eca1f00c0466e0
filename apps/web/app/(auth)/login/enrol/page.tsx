import type { Metadata } from 'next';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { getMe } from '@/lib/api';
import { AuthCard } from '../../auth-card';
import { EnrolForm } from './enrol-form';

export const metadata: Metadata = { title: 'Set up two-factor authentication' };

export default async function EnrolPage() {
  // A signed-in visitor goes home, but not while the enrolment's own server action renders this page again: it has just
  // started the session (its cookie) and the page must stay to show the recovery codes.
  if ((await getMe()) && !(await headers()).has('next-action')) redirect('/');
  return (
    <AuthCard
      width="max-w-xl"
      title="Set up two-factor authentication"
      description="Your provider requires a second factor for your account. Set it up once to finish signing in."
    >
      <EnrolForm />
    </AuthCard>
  );
}
