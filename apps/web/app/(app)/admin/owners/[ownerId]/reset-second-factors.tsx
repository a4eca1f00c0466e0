'use client';
// Admin owner page: remove every second factor of the owner (a lost phone) and end their sessions.
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ConfirmButton } from '@/components/confirm-button';
import { Alert, Card } from '@/components/ui';
import { problemMessage, useApi } from '@/lib/client';
import type { Owner } from '@/lib/types';

export function ResetSecondFactors({ owner }: { owner: Owner }) {
  const api = useApi();
  const router = useRouter();
  const [done, setDone] = useState<string>();
  return (
    <Card title="Two-factor authentication">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <p className="text-sm text-slate-700">
          Lost phone? Removes every second factor of this owner and signs them out everywhere; they sign in with their password and set up
          again.
        </p>
        <ConfirmButton
          label="Reset second factors"
          title={`Reset the second factors of ${owner.email}?`}
          confirmLabel="Reset and sign out"
          variant="danger"
          onConfirm={async () => {
            const r = await api<{ factorsRemoved: number; sessionsEnded: number }>('DELETE', `/users/${owner.id}/second-factors`);
            if (!r.ok) return problemMessage(r.problem);
            setDone(`Removed ${r.data.factorsRemoved} second factor(s) and ended ${r.data.sessionsEnded} session(s).`);
            router.refresh();
            return undefined;
          }}
        >
          <p>Their authenticator app and recovery codes stop working, and all their sessions end. This is recorded in the audit log.</p>
        </ConfirmButton>
      </div>
      {done && (
        <div className="mt-3">
          <Alert tone="success">{done}</Alert>
        </div>
      )}
    </Card>
  );
}
