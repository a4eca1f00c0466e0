import type { Metadata } from 'next';
import { DeliveryLogView, type DeliveryLogFilters } from '@/components/delivery-log';
import { PageHeader } from '@/components/ui';
import { apiGet, requireUser } from '@/lib/api';
import type { Domain } from '@/lib/types';

export const metadata: Metadata = { title: 'Delivery log' };

export default async function DomainDeliveryLogPage({
  params,
  searchParams,
}: {
  params: Promise<{ domainId: string }>;
  searchParams: Promise<DeliveryLogFilters>;
}) {
  await requireUser();
  const { domainId } = await params;
  const domain = await apiGet<Domain>(`/domains/${encodeURIComponent(domainId)}`);
  return (
    <>
      <PageHeader
        back={{ href: `/domains/${domain.id}`, label: domain.name }}
        title={`Delivery log of ${domain.name}`}
        description="Every recipient at this domain that mail was handed over for, and what Mailroom answered. Entries are kept for a limited time."
      />
      <DeliveryLogView
        apiPath={`/domains/${domain.id}/delivery-log`}
        basePath={`/domains/${domain.id}/delivery-log`}
        filters={await searchParams}
      />
    </>
  );
}
