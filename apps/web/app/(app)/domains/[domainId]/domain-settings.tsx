'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { ConfirmButton } from '@/components/confirm-button';
import { Card, TextField } from '@/components/ui';
import { problemMessage, useApi } from '@/lib/client';
import { bytesToInput, formatBytes, parseByteInput } from '@/lib/format';
import type { Domain } from '@/lib/types';
import { updateDomainSettings } from '../actions';

export function DomainSettings({ domain, isAdmin }: { domain: Domain; isAdmin: boolean }) {
  const api = useApi();
  const router = useRouter();
  // live first checks; the inputs are uncontrolled and the action reads the form's own data
  const [quota, setQuota] = useState(bytesToInput(domain.defaultQuotaBytes));
  const [maxMailboxes, setMaxMailboxes] = useState(domain.maxMailboxes?.toString() ?? '');
  const [maxStorage, setMaxStorage] = useState(bytesToInput(domain.maxStorageBytes));

  return (
    <Card id="domain-settings" title="Domain settings">
      <ApiForm action={updateDomainSettings.bind(null, domain.id)} className="max-w-xl space-y-4">
        {(f) => {
          const quotaError =
            f.errors.defaultQuota ??
            (parseByteInput(quota) === undefined ? 'Enter a size like 500 MB or 2 GB, or leave empty for no limit.' : undefined);
          const maxMailboxesError =
            f.errors.maxMailboxes ??
            (maxMailboxes.trim() !== '' && !/^\d+$/.test(maxMailboxes.trim()) ? 'A whole number, or empty for no limit.' : undefined);
          const maxStorageError =
            f.errors.maxStorage ?? (parseByteInput(maxStorage) === undefined ? 'A size like 10 GB, or empty for no limit.' : undefined);
          return (
            <>
              <TextField
                id="domain-description"
                label="Description"
                optional
                error={f.errors.description}
                name="description"
                defaultValue={f.value('description', domain.description ?? '')}
              />
              {/* an alias domain has no mailboxes of its own: its quotas and limits are the target's */}
              {!domain.aliasOf && (
                <TextField
                  id="domain-quota"
                  label="Default quota for new mailboxes"
                  optional
                  hint="Empty means no limit."
                  error={quotaError}
                  name="defaultQuota"
                  defaultValue={f.value('defaultQuota', bytesToInput(domain.defaultQuotaBytes))}
                  onChange={(e) => setQuota(e.target.value)}
                />
              )}
              {/* Admins also set the domain's own limits. */}
              {isAdmin && !domain.aliasOf && (
                <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
                  <TextField
                    id="domain-max-mailboxes"
                    label="Mailbox limit"
                    optional
                    hint="For this domain; empty means none."
                    error={maxMailboxesError}
                    name="maxMailboxes"
                    inputMode="numeric"
                    defaultValue={f.value('maxMailboxes', domain.maxMailboxes?.toString())}
                    onChange={(e) => setMaxMailboxes(e.target.value)}
                  />
                  <TextField
                    id="domain-max-storage"
                    label="Storage limit"
                    optional
                    hint="e.g. 50 GB; empty means none."
                    error={maxStorageError}
                    name="maxStorage"
                    defaultValue={f.value('maxStorage', bytesToInput(domain.maxStorageBytes))}
                    onChange={(e) => setMaxStorage(e.target.value)}
                  />
                </div>
              )}
              <SubmitButton pending={f.pending} label="Save settings" pendingLabel="Saving…" />
            </>
          );
        }}
      </ApiForm>
      <div className="mt-8 flex flex-wrap items-center gap-3 border-t border-slate-200 pt-4">
        <ConfirmButton
          variant="secondary"
          label={domain.active ? 'Disable domain' : 'Enable domain'}
          title={domain.active ? `Disable ${domain.name}?` : `Enable ${domain.name}?`}
          confirmLabel={domain.active ? 'Disable' : 'Enable'}
          onConfirm={async () => {
            const r = await api('PATCH', `/domains/${domain.id}`, { active: !domain.active });
            if (!r.ok) return problemMessage(r.problem);
            router.refresh();
            return undefined;
          }}
        >
          <p>
            {domain.aliasOf
              ? domain.active
                ? `Mail to its addresses is refused until you enable it again; ${domain.aliasOf.name} is not affected.`
                : `Mail to its addresses goes to ${domain.aliasOf.name} again.`
              : domain.active
                ? 'Its mailboxes can no longer sign in over POP3 and incoming mail is refused until you enable it again. Nothing is deleted.'
                : 'Its mailboxes can sign in and receive mail again.'}
          </p>
        </ConfirmButton>
        <ConfirmButton
          label="Delete domain"
          title={`Delete ${domain.name}?`}
          confirmLabel="Delete domain and everything in it"
          confirmText={domain.name}
          onConfirm={async () => {
            const force = domain.mailboxCount > 0 || domain.aliasDomainCount > 0;
            const r = await api('DELETE', `/domains/${domain.id}${force ? '?force=true' : ''}`);
            if (!r.ok) return problemMessage(r.problem);
            router.push('/');
            router.refresh();
            return undefined;
          }}
        >
          {domain.aliasOf ? (
            <p>
              Mail to {domain.name} will be refused. The mailboxes of {domain.aliasOf.name} keep their mail.
            </p>
          ) : (
            <p>
              This permanently deletes <strong>{domain.mailboxCount}</strong> mailbox{domain.mailboxCount === 1 ? '' : 'es'} with all their
              stored messages ({formatBytes(domain.usedBytes)}) and <strong>{domain.aliasCount}</strong> alias
              {domain.aliasCount === 1 ? '' : 'es'}
              {domain.aliasDomainCount > 0 && (
                <>
                  , and its <strong>{domain.aliasDomainCount}</strong> alias domain{domain.aliasDomainCount === 1 ? '' : 's'}
                </>
              )}
              . Mail to {domain.name} will be refused. This cannot be undone.
            </p>
          )}
          {domain.mtaStsMode === 'enforce' && (
            <p className="mt-2">
              Its MTA-STS policy is in enforce mode: senders keep it for its max_age (a week unless your provider changed it) after it
              disappears and deliver only to this server meanwhile. If the domain is moving to another provider, withdraw the policy first
              (Encrypted delivery, Withdraw) and delete the domain once its copies have expired.
            </p>
          )}
        </ConfirmButton>
      </div>
    </Card>
  );
}
