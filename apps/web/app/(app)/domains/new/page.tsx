import type { Metadata } from 'next';
import { Card, PageHeader } from '@/components/ui';
import { apiGetRaw, requireUser } from '@/lib/api';
import type { Domain } from '@/lib/types';
import { NewDomainForm } from './new-domain-form';

export const metadata: Metadata = { title: 'Add domain' };

export default async function NewDomainPage({ searchParams }: { searchParams: Promise<{ aliasOf?: string }> }) {
  const me = await requireUser();
  const isAdmin = me.user.role === 'ADMIN';
  // "Add alias domain" on a domain's page names its target; an id the caller cannot see just leaves the choice empty
  const { aliasOf } = await searchParams;
  const target =
    aliasOf && /^[0-9a-f-]{36}$/i.test(aliasOf) ? (await apiGetRaw<Domain>(`/domains/${encodeURIComponent(aliasOf)}`)).data : undefined;
  return (
    <>
      <PageHeader
        title="Add domain"
        description="Next, you prove that you own it with a DNS TXT record. Mailroom accepts its mail once it is verified and its MX record points here."
        back={{ href: '/', label: 'Domains' }}
      />
      <Card className="max-w-2xl">
        <NewDomainForm
          isAdmin={isAdmin}
          aliasOf={target ? { id: target.id, label: isAdmin ? `${target.name} (${target.ownerEmail})` : target.name } : undefined}
        />
      </Card>
    </>
  );
}
