'use client';
import { Form } from '@/components/form';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ConfirmButton } from '@/components/confirm-button';
import { Alert, buttonClass, Card, describedBy, Field, inputClass } from '@/components/ui';
import { fieldErrors, problemMessage, useApi, type ClientProblem } from '@/lib/client';
import { bytesToInput, formatBytes, parseByteInput } from '@/lib/format';
import type { Domain } from '@/lib/types';

export function DomainSettings({ domain, isAdmin }: { domain: Domain; isAdmin: boolean }) {
  const api = useApi();
  const router = useRouter();
  const [description, setDescription] = useState(domain.description ?? '');
  const [quota, setQuota] = useState(bytesToInput(domain.defaultQuotaBytes));
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const [saved, setSaved] = useState(false);
  const server = fieldErrors(problem);
  const quotaBytes = parseByteInput(quota);
  const quotaError = server.defaultQuotaBytes ?? (quotaBytes === undefined ? 'Enter a size like 500 MB or 2 GB, or leave empty for no limit.' : undefined);
  // Admins also set the domain's own limits.
  const [maxMailboxes, setMaxMailboxes] = useState(domain.maxMailboxes?.toString() ?? '');
  const [maxStorage, setMaxStorage] = useState(bytesToInput(domain.maxStorageBytes));
  const maxMailboxesValue = maxMailboxes.trim() === '' ? null : /^\d+$/.test(maxMailboxes.trim()) ? Number(maxMailboxes.trim()) : undefined;
  const maxStorageValue = parseByteInput(maxStorage);
  const maxMailboxesError = server.maxMailboxes ?? (maxMailboxesValue === undefined ? 'A whole number, or empty for no limit.' : undefined);
  const maxStorageError = server.maxStorageBytes ?? (maxStorageValue === undefined ? 'A size like 10 GB, or empty for no limit.' : undefined);

  async function save(body: object) {
    setBusy(true);
    setProblem(undefined);
    setSaved(false);
    const r = await api<Domain>('PATCH', `/domains/${domain.id}`, body);
    setBusy(false);
    if (!r.ok) return setProblem(r.problem);
    setSaved(true);
    router.refresh();
  }

  return (
    <Card id="domain-settings" title="Domain settings">
      <Form
        className="max-w-xl space-y-4"
        onSubmit={(e) => {
          e.preventDefault();
          if (quotaBytes === undefined || (isAdmin && (maxMailboxesValue === undefined || maxStorageValue === undefined))) return;
          void save({
            description: description.trim() || null,
            defaultQuotaBytes: quotaBytes,
            ...(isAdmin ? { maxMailboxes: maxMailboxesValue, maxStorageBytes: maxStorageValue } : {}),
          });
        }}
      >
        {problem && <Alert>{problemMessage(problem)}</Alert>}
        {saved && <Alert tone="success">Saved.</Alert>}
        <Field id="domain-description" label="Description" optional error={server.description}>
          <input id="domain-description" value={description} onChange={(e) => setDescription(e.target.value)} className={inputClass} {...describedBy('domain-description', server.description)} />
        </Field>
        <Field id="domain-quota" label="Default quota for new mailboxes" optional hint="Empty means no limit." error={quotaError}>
          <input id="domain-quota" value={quota} onChange={(e) => setQuota(e.target.value)} className={inputClass} {...describedBy('domain-quota', quotaError, true)} />
        </Field>
        {isAdmin && (
          <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
            <Field id="domain-max-mailboxes" label="Mailbox limit" optional hint="For this domain; empty means none." error={maxMailboxesError}>
              <input id="domain-max-mailboxes" inputMode="numeric" value={maxMailboxes} onChange={(e) => setMaxMailboxes(e.target.value)} className={inputClass} {...describedBy('domain-max-mailboxes', maxMailboxesError, true)} />
            </Field>
            <Field id="domain-max-storage" label="Storage limit" optional hint="e.g. 50 GB; empty means none." error={maxStorageError}>
              <input id="domain-max-storage" value={maxStorage} onChange={(e) => setMaxStorage(e.target.value)} className={inputClass} {...describedBy('domain-max-storage', maxStorageError, true)} />
            </Field>
          </div>
        )}
        <button type="submit" className={buttonClass('primary')} disabled={busy}>
          {busy ? 'Saving…' : 'Save settings'}
        </button>
      </Form>
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
          <p>{domain.active ? 'Its mailboxes can no longer sign in over POP3 and incoming mail is refused until you enable it again. Nothing is deleted.' : 'Its mailboxes can sign in and receive mail again.'}</p>
        </ConfirmButton>
        <ConfirmButton
          label="Delete domain"
          title={`Delete ${domain.name}?`}
          confirmLabel="Delete domain and everything in it"
          confirmText={domain.name}
          onConfirm={async () => {
            const r = await api('DELETE', `/domains/${domain.id}${domain.mailboxCount > 0 ? '?force=true' : ''}`);
            if (!r.ok) return problemMessage(r.problem);
            router.push('/');
            router.refresh();
            return undefined;
          }}
        >
          <p>
            This permanently deletes <strong>{domain.mailboxCount}</strong> mailbox{domain.mailboxCount === 1 ? '' : 'es'} with all their stored messages ({formatBytes(domain.usedBytes)}) and{' '}
            <strong>{domain.aliasCount}</strong> alias{domain.aliasCount === 1 ? '' : 'es'}. Mail to {domain.name} will be refused. This cannot be undone.
          </p>
        </ConfirmButton>
      </div>
    </Card>
  );
}
