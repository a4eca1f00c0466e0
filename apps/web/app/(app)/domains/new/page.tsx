import type { Metadata } from 'next';
import { Card, PageHeader } from '@/components/ui';
import { requireUser } from '@/lib/api';
import { NewDomainForm } from './new-domain-form';

export const metadata: Metadata = { title: 'Add domain' };

export default async function NewDomainPage() {
  const me = await requireUser();
  return (
    <>
      <PageHeader
        title="Add domain"
        description="Next, you prove that you own it with a DNS TXT record. Mailroom accepts its mail once it is verified and its MX record points here."
        back={{ href: '/', label: 'Domains' }}
      />
      <Card className="max-w-2xl">
        <NewDomainForm isAdmin={me.user.role === 'ADMIN'} />
      </Card>
    </>
  );
}
