'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ConfirmButton } from '@/components/confirm-button';
import { Alert, Badge, Card } from '@/components/ui';
import { problemMessage, useApi } from '@/lib/client';
import { formatDateTime } from '@/lib/format';
import type { SessionList } from '@/lib/types';

/** The signed-in principal's panel sessions (Account page): device, address, last seen; end one or all others. */
export function SessionsCard({ list }: { list: SessionList }) {
  const api = useApi();
  const router = useRouter();
  const [notice, setNotice] = useState<string>();
  const others = list.items.filter((s) => !s.current).length;
  return (
    <Card
      id="sessions"
      title="Active sessions"
      description="Where you are signed in to this panel. End a session you do not recognise, then change your password."
      actions={
        others > 0 ? (
          <ConfirmButton
            label="Sign out all other sessions"
            title="Sign out everywhere else?"
            confirmLabel="Sign out other sessions"
            variant="secondary"
            onConfirm={async () => {
              const r = await api<{ revoked: number }>('POST', '/auth/sessions/revoke-others');
              if (!r.ok) return problemMessage(r.problem);
              setNotice(`${r.data.revoked} other session${r.data.revoked === 1 ? '' : 's'} signed out.`);
              router.refresh();
              return undefined;
            }}
          >
            <p>Every other browser signed in as you is signed out now. This one stays signed in.</p>
          </ConfirmButton>
        ) : undefined
      }
    >
      {notice && <Alert tone="success">{notice}</Alert>}
      <ul className="-my-3 divide-y divide-slate-100" aria-label="Sessions">
        {list.items.map((s) => (
          <li key={s.id} className="flex flex-wrap items-start justify-between gap-3 py-3">
            <div className="min-w-0">
              <p className="font-medium text-slate-900" title={s.userAgent ?? undefined}>
                {s.device} {s.current && <Badge tone="green">This session</Badge>}
              </p>
              <p className="mt-1 text-xs text-slate-600">
                {s.ip ?? 'unknown address'} · signed in {formatDateTime(s.createdAt)} · last seen {formatDateTime(s.lastSeenAt)}
              </p>
            </div>
            {!s.current && (
              <ConfirmButton
                label="Sign out"
                title={`Sign out ${s.device}?`}
                confirmLabel="Sign out session"
                onConfirm={async () => {
                  const r = await api('DELETE', `/auth/sessions/${s.id}`);
                  if (!r.ok) return problemMessage(r.problem);
                  router.refresh();
                  return undefined;
                }}
              >
                <p>That browser is signed out at its next request.</p>
              </ConfirmButton>
            )}
          </li>
        ))}
      </ul>
    </Card>
  );
}
