'use client';
import { Form } from '@/components/form';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ConfirmButton } from '@/components/confirm-button';
import { PasswordField } from '@/components/password-field';
import { Alert, buttonClass, Card, describedBy, Field, inputClass } from '@/components/ui';
import { fieldErrors, problemMessage, useApi, type ClientProblem } from '@/lib/client';
import { bytesToInput, formatBytes, parseByteInput } from '@/lib/format';
import type { Mailbox } from '@/lib/types';

export function MailboxForm({ mailbox }: { mailbox: Mailbox }) {
  const api = useApi();
  const router = useRouter();
  const [displayName, setDisplayName] = useState(mailbox.displayName ?? '');
  const [quota, setQuota] = useState(bytesToInput(mailbox.quotaBytes));
  const [enabled, setEnabled] = useState(mailbox.enabled);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const [saved, setSaved] = useState(false);
  const server = fieldErrors(problem);
  const quotaBytes = parseByteInput(quota);
  const quotaError = server.quotaBytes ?? (quotaBytes === undefined ? 'Enter a size like 500 MB or 2 GB, or leave empty for no limit.' : undefined);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    if (quotaBytes === undefined) return;
    setBusy(true);
    setProblem(undefined);
    setSaved(false);
    const r = await api<Mailbox>('PATCH', `/mailboxes/${mailbox.id}`, { displayName: displayName.trim() || null, quotaBytes, enabled });
    setBusy(false);
    if (!r.ok) return setProblem(r.problem);
    setSaved(true);
    router.refresh();
  }

  return (
    <Card id="edit-mailbox" title="Details">
      <Form onSubmit={submit} className="space-y-4">
        {problem && <Alert>{problemMessage(problem)}</Alert>}
        {saved && <Alert tone="success">Changes saved.</Alert>}
        <Field id="displayName" label="Display name" optional error={server.displayName}>
          <input id="displayName" value={displayName} onChange={(e) => setDisplayName(e.target.value)} className={inputClass} {...describedBy('displayName', server.displayName)} />
        </Field>
        <Field id="quota" label="Quota" optional hint={`Currently using ${formatBytes(mailbox.usedBytes)}. Empty means no limit.`} error={quotaError}>
          <input id="quota" value={quota} onChange={(e) => setQuota(e.target.value)} className={inputClass} {...describedBy('quota', quotaError, true)} />
        </Field>
        <div className="flex items-start gap-3">
          <input id="enabled" type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} className="mt-0.5 h-4 w-4 accent-brand-600" aria-describedby="enabled-hint" />
          <div>
            <label htmlFor="enabled" className="text-sm font-medium text-slate-800">
              Enabled
            </label>
            <p id="enabled-hint" className="text-xs text-slate-600">
              A disabled mailbox keeps its messages but cannot sign in or receive mail.
            </p>
          </div>
        </div>
        <button type="submit" className={buttonClass('primary')} disabled={busy}>
          {busy ? 'Saving…' : 'Save changes'}
        </button>
      </Form>
    </Card>
  );
}

export function ResetPasswordForm({ mailboxId, address }: { mailboxId: string; address: string }) {
  const api = useApi();
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const [saved, setSaved] = useState(false);
  const server = fieldErrors(problem);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    if (!password) return;
    setBusy(true);
    setProblem(undefined);
    setSaved(false);
    const r = await api('PUT', `/mailboxes/${mailboxId}/password`, { password });
    setBusy(false);
    if (!r.ok) return setProblem(r.problem);
    setSaved(true);
  }

  return (
    <Card id="reset-password" title="Reset password" description={`The old password of ${address} stops working immediately.`}>
      <Form onSubmit={submit} className="space-y-4">
        {problem && !server.password && <Alert>{problemMessage(problem)}</Alert>}
        {saved && <Alert tone="success">Password changed. Give the new password to the mailbox user.</Alert>}
        <PasswordField
          id="new-password"
          name="password"
          label="New password"
          value={password}
          onChange={(v) => {
            setPassword(v);
            setSaved(false);
          }}
          error={server.password}
        />
        <button type="submit" className={buttonClass('primary')} disabled={busy || !password}>
          {busy ? 'Saving…' : 'Set new password'}
        </button>
      </Form>
    </Card>
  );
}

export function DeleteMailbox({ mailbox }: { mailbox: Mailbox }) {
  const api = useApi();
  const router = useRouter();
  return (
    <Card id="danger" title="Delete mailbox">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <p className="text-sm text-slate-700">Deletes the mailbox and every message stored in it. Mail to the address will be refused.</p>
        <ConfirmButton
          label="Delete mailbox"
          title={`Delete ${mailbox.address}?`}
          confirmLabel="Delete mailbox"
          confirmText={mailbox.localPart}
          onConfirm={async () => {
            const r = await api('DELETE', `/mailboxes/${mailbox.id}`);
            if (!r.ok) return problemMessage(r.problem);
            router.push(`/domains/${mailbox.domainId}`);
            router.refresh();
            return undefined;
          }}
        >
          <p>
            This permanently deletes <strong>{mailbox.messageCount}</strong> message{mailbox.messageCount === 1 ? '' : 's'} ({formatBytes(mailbox.usedBytes)}) waiting in {mailbox.address}, and removes it from any alias. It cannot be undone.
          </p>
        </ConfirmButton>
      </div>
    </Card>
  );
}
