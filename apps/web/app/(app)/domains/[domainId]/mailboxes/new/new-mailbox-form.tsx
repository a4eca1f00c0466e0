'use client';
import { useState } from 'react';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { PasswordField } from '@/components/password-field';
import { describedBy, Field, inputClass, TextField } from '@/components/ui';
import { bytesToInput, parseByteInput } from '@/lib/format';
import { localPartProblem } from '@/lib/validation';
import { createMailbox } from '../../../actions';

export function NewMailboxForm({
  domainId,
  domainName,
  defaultQuotaBytes,
}: {
  domainId: string;
  domainName: string;
  defaultQuotaBytes: number | null;
}) {
  // live first checks and the address preview; the inputs are uncontrolled and the action reads the form's own data
  const [localPart, setLocalPart] = useState('');
  const [quota, setQuota] = useState(bytesToInput(defaultQuotaBytes));
  const [edited, setEdited] = useState(0);

  return (
    <ApiForm action={createMailbox.bind(null, domainId, domainName)} className="space-y-5" onAnswer={() => setEdited(0)}>
      {(f) => {
        const lpError = (edited ? undefined : f.errors.localPart) ?? (localPart ? localPartProblem(localPart.trim()) : undefined);
        const quotaError =
          f.errors.quota ??
          (parseByteInput(quota) === undefined ? 'Enter a size like 500 MB or 2 GB, or leave empty for no limit.' : undefined);
        return (
          <>
            <Field id="localPart" label="Address" error={lpError}>
              <div className="flex items-center gap-2">
                <input
                  id="localPart"
                  name="localPart"
                  required
                  autoComplete="off"
                  autoCapitalize="none"
                  spellCheck={false}
                  defaultValue={f.value('localPart')}
                  onChange={(e) => {
                    setLocalPart(e.target.value);
                    setEdited((n) => n + 1);
                  }}
                  className={inputClass}
                  {...describedBy('localPart', lpError, true)}
                />
                <span className="shrink-0 text-sm text-slate-600">@{domainName}</span>
              </div>
              {!lpError && (
                <p id="localPart-hint" className="mt-1 text-xs text-slate-600" aria-live="polite">
                  {localPart ? (
                    <>
                      Will be{' '}
                      <span className="font-mono text-slate-800">
                        {localPart.trim().toLowerCase()}@{domainName}
                      </span>
                    </>
                  ) : (
                    'Letters, digits, dots and a few symbols; case does not matter.'
                  )}
                </p>
              )}
            </Field>
            <TextField
              id="displayName"
              label="Display name"
              optional
              error={f.errors.displayName}
              name="displayName"
              autoComplete="off"
              defaultValue={f.value('displayName')}
            />
            <TextField
              id="quota"
              label="Quota"
              optional
              hint="e.g. 1 GB. Empty means no limit beyond the domain's."
              error={quotaError}
              name="quota"
              defaultValue={f.value('quota', bytesToInput(defaultQuotaBytes))}
              onChange={(e) => setQuota(e.target.value)}
            />
            <PasswordField id="password" name="password" label="Password" error={f.errors.password} />
            <SubmitButton pending={f.pending} label="Create mailbox" pendingLabel="Creating…" />
          </>
        );
      }}
    </ApiForm>
  );
}
