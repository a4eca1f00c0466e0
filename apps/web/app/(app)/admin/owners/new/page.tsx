import type { Metadata } from 'next';
import { Card, PageHeader } from '@/components/ui';
import { requireUser } from '@/lib/api';
import { OwnerForm } from '../owner-form';

export const metadata: Metadata = { title: 'New owner' };

export default async function NewOwnerPage() {
  await requireUser('ADMIN');
  return (
    <>
      <PageHeader
        title="New owner"
        description="The owner signs in with this email and password and manages their own domains."
        back={{ href: '/admin/owners', label: 'Owners' }}
      />
      <Card className="max-w-3xl">
        <OwnerForm />
      </Card>
    </>
  );
}
