import type { Metadata } from 'next';
import { DeliveryLogView, type DeliveryLogFilters } from '@/components/delivery-log';
import { PageHeader } from '@/components/ui';
import { apiGet, requireUser } from '@/lib/api';
import type { Mailbox } from '@/lib/types';

export const metadata: Metadata = { title: 'Delivery log' };

export default async function MailboxDeliveryLogPage({
  params,
  searchParams,
}: {
  params: Promise<{ mailboxId: string }>;
  searchParams: Promise<DeliveryLogFilters>;
}) {
  await requireUser();
  const { mailboxId } = await params;
  const mb = await apiGet<Mailbox>(`/mailboxes/${encodeURIComponent(mailboxId)}`);
  return (
    <>
      <PageHeader
        back={{ href: `/mailboxes/${mb.id}`, label: mb.address }}
        title={`Delivery log of ${mb.address}`}
        description="Messages stored into this mailbox and the ones refused or deferred for it."
      />
      <DeliveryLogView
        apiPath={`/mailboxes/${mb.id}/delivery-log`}
        basePath={`/mailboxes/${mb.id}/delivery-log`}
        filters={await searchParams}
      />
    </>
  );
}
