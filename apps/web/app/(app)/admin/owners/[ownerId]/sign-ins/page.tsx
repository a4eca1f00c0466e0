import type { Metadata } from 'next';
import { ownerSignInLog, SignInsView, type SignInFilters } from '@/components/sign-ins';
import { PageHeader } from '@/components/ui';
import { apiGet, requireUser } from '@/lib/api';
import type { Owner } from '@/lib/types';

export const metadata: Metadata = { title: 'Owner sign-in activity' };

/** An owner's panel sign-in log, for admins (back to the owner's page); anyone else gets the not-found page. */
export default async function OwnerSignInsPage({
  params,
  searchParams,
}: {
  params: Promise<{ ownerId: string }>;
  searchParams: Promise<SignInFilters>;
}) {
  await requireUser('ADMIN');
  const { ownerId } = await params;
  const owner = await apiGet<Owner>(`/owners/${encodeURIComponent(ownerId)}`);
  return (
    <>
      <PageHeader
        back={{ href: `/admin/owners/${owner.id}`, label: owner.email }}
        title={`Sign-in activity of ${owner.email}`}
        description="Every panel sign-in of this owner and every attempt refused: a wrong password, a wrong code, a refused passkey, a disabled account."
      />
      <SignInsView log={ownerSignInLog(owner.id)} basePath={`/admin/owners/${owner.id}/sign-ins`} filters={await searchParams} />
    </>
  );
}
