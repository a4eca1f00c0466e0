import type { Metadata } from 'next';
import { Card, PageHeader } from '@/components/ui';
import { apiGet, requireUser } from '@/lib/api';
import type { Owner, Page } from '@/lib/types';
import { NewDomainForm } from './new-domain-form';

export const metadata: Metadata = { title: 'Add domain' };

export default async function NewDomainPage() {
  const me = await requireUser();
  const owners = me.user.role === 'ADMIN' ? (await apiGet<Page<Owner>>('/owners?limit=200')).items.filter((o) => !o.disabled) : undefined;
  return (
    <>
      <PageHeader title="Add domain" description="Next, you prove that you own it with a DNS TXT record. Mailroom accepts its mail once it is verified and its MX record points here." back={{ href: '/', label: 'Domains' }} />
      <Card className="max-w-2xl">
        <NewDomainForm owners={owners?.map((o) => ({ id: o.id, email: o.email }))} />
      </Card>
    </>
  );
}
