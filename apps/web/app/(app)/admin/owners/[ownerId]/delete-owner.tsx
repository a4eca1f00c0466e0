'use client';
import { useRouter } from 'next/navigation';
import { ConfirmButton } from '@/components/confirm-button';
import { Card } from '@/components/ui';
import { problemMessage, useApi } from '@/lib/client';
import type { Owner } from '@/lib/types';

export function DeleteOwner({ owner }: { owner: Owner }) {
  const api = useApi();
  const router = useRouter();
  return (
    <Card title="Delete owner">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <p className="text-sm text-slate-700">
          Deletes the account, its API keys and every domain it owns with all mailboxes and messages.
        </p>
        <ConfirmButton
          label="Delete owner"
          title={`Delete ${owner.email}?`}
          confirmLabel="Delete owner and all their mail"
          confirmText={owner.email}
          onConfirm={async () => {
            const r = await api('DELETE', `/owners/${owner.id}${owner.usage.domains > 0 ? '?force=true' : ''}`);
            if (!r.ok) return problemMessage(r.problem);
            router.push('/admin/owners');
            router.refresh();
            return undefined;
          }}
        >
          <p>
            This permanently deletes <strong>{owner.usage.domains}</strong> domain(s) and <strong>{owner.usage.mailboxes}</strong>{' '}
            mailbox(es) with all their messages. It cannot be undone.
          </p>
        </ConfirmButton>
      </div>
    </Card>
  );
}
