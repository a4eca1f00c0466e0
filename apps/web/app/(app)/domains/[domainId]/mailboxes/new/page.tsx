import type { Metadata } from 'next';
import { Card, PageHeader } from '@/components/ui';
import { apiGet, requireUser } from '@/lib/api';
import type { Domain } from '@/lib/types';
import { NewMailboxForm } from './new-mailbox-form';

export const metadata: Metadata = { title: 'New mailbox' };

export default async function NewMailboxPage({ params }: { params: Promise<{ domainId: string }> }) {
  await requireUser();
  const { domainId } = await params;
  const domain = await apiGet<Domain>(`/domains/${encodeURIComponent(domainId)}`);
  return (
    <>
      <PageHeader
        title="New mailbox"
        description={`A POP3 mailbox at ${domain.name}.`}
        back={{ href: `/domains/${domain.id}`, label: domain.name }}
      />
      <Card className="max-w-2xl">
        <NewMailboxForm domainId={domain.id} domainName={domain.name} defaultQuotaBytes={domain.defaultQuotaBytes} />
      </Card>
    </>
  );
}
