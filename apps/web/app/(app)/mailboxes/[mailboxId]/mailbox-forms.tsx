'use client';
import { useRouter } from 'next/navigation';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { ConfirmButton } from '@/components/confirm-button';
import { PasswordField } from '@/components/password-field';
import { Card, TextField } from '@/components/ui';
import { problemMessage, useApi } from '@/lib/client';
import { bytesToInput, formatBytes, formatPasswordChanged } from '@/lib/format';
import type { Mailbox } from '@/lib/types';
import { resetMailboxPassword, updateMailbox } from '../actions';

export function MailboxForm({ mailbox }: { mailbox: Mailbox }) {
  return (
    <Card id="edit-mailbox" title="Details">
      <ApiForm action={updateMailbox.bind(null, mailbox.id)} className="space-y-4">
        {(f) => (
          <>
            <TextField
              id="displayName"
              label="Display name"
              optional
              error={f.errors.displayName}
              name="displayName"
              defaultValue={f.value('displayName', mailbox.displayName ?? '')}
            />
            <TextField
              id="quota"
              label="Quota"
              optional
              hint={`Currently using ${formatBytes(mailbox.usedBytes)}. Empty means no limit.`}
              error={f.errors.quota}
              name="quota"
              defaultValue={f.value('quota', bytesToInput(mailbox.quotaBytes))}
            />
            <div className="flex items-start gap-3">
              <input
                id="enabled"
                name="enabled"
                type="checkbox"
                defaultChecked={mailbox.enabled}
                className="mt-0.5 h-4 w-4 accent-brand-600"
                aria-describedby="enabled-hint"
              />
              <div>
                <label htmlFor="enabled" className="text-sm font-medium text-slate-800">
                  Enabled
                </label>
                <p id="enabled-hint" className="text-xs text-slate-600">
                  A disabled mailbox keeps its messages but cannot sign in or receive mail.
                </p>
              </div>
            </div>
            <SubmitButton pending={f.pending} label="Save changes" pendingLabel="Saving…" />
          </>
        )}
      </ApiForm>
    </Card>
  );
}

export function ResetPasswordForm({
  mailboxId,
  address,
  passwordChangedAt,
}: {
  mailboxId: string;
  address: string;
  passwordChangedAt: string | null;
}) {
  return (
    <Card
      id="reset-password"
      title="Reset password"
      description={`The old password of ${address} stops working immediately. Last changed: ${formatPasswordChanged(passwordChangedAt)}.`}
    >
      <ApiForm action={resetMailboxPassword.bind(null, mailboxId)} className="space-y-4" resetOnSuccess>
        {(f) => (
          <>
            <PasswordField id="new-password" name="password" label="New password" error={f.errors.password} />
            <SubmitButton pending={f.pending} label="Set new password" pendingLabel="Saving…" />
          </>
        )}
      </ApiForm>
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
            This permanently deletes <strong>{mailbox.messageCount}</strong> message{mailbox.messageCount === 1 ? '' : 's'} (
            {formatBytes(mailbox.usedBytes)}) waiting in {mailbox.address}, and removes it from any alias. It cannot be undone.
          </p>
        </ConfirmButton>
      </div>
    </Card>
  );
}
