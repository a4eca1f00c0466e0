'use client';
import { Form } from '@/components/form';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { PasswordField } from '@/components/password-field';
import { Alert, buttonClass, describedBy, Field, inputClass } from '@/components/ui';
import { fieldErrors, problemMessage, useApi, type ClientProblem } from '@/lib/client';
import { bytesToInput, parseByteInput } from '@/lib/format';
import type { Mailbox } from '@/lib/types';
import { localPartProblem } from '@/lib/validation';

export function NewMailboxForm({ domainId, domainName, defaultQuotaBytes }: { domainId: string; domainName: string; defaultQuotaBytes: number | null }) {
  const api = useApi();
  const router = useRouter();
  const [localPart, setLocalPart] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [quota, setQuota] = useState(bytesToInput(defaultQuotaBytes));
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const server = fieldErrors(problem);
  const lpLive = localPart ? localPartProblem(localPart.trim()) : undefined;
  const lpError = server.localPart ?? (problem?.code === 'ALREADY_EXISTS' ? `${localPart.trim().toLowerCase()}@${domainName} already exists.` : undefined) ?? lpLive;
  const quotaBytes = parseByteInput(quota);
  const quotaError = server.quotaBytes ?? (quotaBytes === undefined ? 'Enter a size like 500 MB or 2 GB, or leave empty for no limit.' : undefined);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    if (localPartProblem(localPart.trim()) || quotaBytes === undefined || !password) return;
    setBusy(true);
    setProblem(undefined);
    const r = await api<Mailbox>('POST', `/domains/${domainId}/mailboxes`, {
      localPart: localPart.trim(),
      password,
      displayName: displayName.trim() || null,
      quotaBytes,
    });
    if (r.ok) {
      router.push(`/mailboxes/${r.data.id}?created=1`);
      return;
    }
    setBusy(false);
    setProblem(r.problem);
  }

  const showBanner = problem && !(problem.code === 'VALIDATION_FAILED' && Object.keys(server).length > 0);
  return (
    <Form onSubmit={submit} className="space-y-5">
      {showBanner && <Alert>{problem.code === 'ALREADY_EXISTS' ? 'That address is already taken by a mailbox or alias.' : problemMessage(problem)}</Alert>}
      <Field id="localPart" label="Address" error={lpError}>
        <div className="flex items-center gap-2">
          <input
            id="localPart"
            name="localPart"
            required
            autoComplete="off"
            autoCapitalize="none"
            spellCheck={false}
            value={localPart}
            onChange={(e) => {
              setLocalPart(e.target.value);
              if (problem?.code === 'ALREADY_EXISTS') setProblem(undefined);
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
                Will be <span className="font-mono text-slate-800">{localPart.trim().toLowerCase()}@{domainName}</span>
              </>
            ) : (
              'Letters, digits, dots and a few symbols; case does not matter.'
            )}
          </p>
        )}
      </Field>
      <Field id="displayName" label="Display name" optional error={server.displayName}>
        <input id="displayName" name="displayName" autoComplete="off" value={displayName} onChange={(e) => setDisplayName(e.target.value)} className={inputClass} {...describedBy('displayName', server.displayName)} />
      </Field>
      <Field id="quota" label="Quota" optional hint="e.g. 1 GB. Empty means no limit beyond the domain's." error={quotaError}>
        <input id="quota" name="quota" value={quota} onChange={(e) => setQuota(e.target.value)} className={inputClass} {...describedBy('quota', quotaError, true)} />
      </Field>
      <PasswordField id="password" name="password" label="Password" value={password} onChange={setPassword} error={server.password} />
      <button type="submit" className={buttonClass('primary')} disabled={busy || !localPart || !password}>
        {busy ? 'Creating…' : 'Create mailbox'}
      </button>
    </Form>
  );
}
