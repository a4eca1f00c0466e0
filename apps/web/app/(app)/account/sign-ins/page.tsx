import type { Metadata } from 'next';
import { ownSignInLog, SignInsView, type SignInFilters } from '@/components/sign-ins';
import { PageHeader } from '@/components/ui';
import { requireUser } from '@/lib/api';

export const metadata: Metadata = { title: 'Your sign-in activity' };

/**
 * The signed-in admin's or owner's own panel sign-in log (back to the Account page). A mailbox user gets the not-found
 * page: their sign-ins are their mailbox's log, on their home.
 */
export default async function AccountSignInsPage({ searchParams }: { searchParams: Promise<SignInFilters> }) {
  const me = await requireUser();
  return (
    <>
      <PageHeader
        back={{ href: '/account', label: 'Account' }}
        title="Your sign-in activity"
        description={`Every sign-in to ${me.user.email} and every attempt refused: a wrong password, a wrong code from your authenticator app or a recovery code, a refused passkey.`}
      />
      <SignInsView log={ownSignInLog} basePath="/account/sign-ins" filters={await searchParams} />
    </>
  );
}
