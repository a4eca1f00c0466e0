'use client';
import { Form } from '@/components/form';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { SearchPicker, type PickerOption } from '@/components/search-picker';
import type { Owner } from '@/lib/types';
import { Alert, buttonClass, describedBy, Field, inputClass } from '@/components/ui';
import { fieldErrors, problemMessage, useApi, type ClientProblem } from '@/lib/client';
import { parseByteInput } from '@/lib/format';
import type { Domain } from '@/lib/types';
import { looksLikeDomainName } from '@/lib/validation';

export function NewDomainForm({ isAdmin }: { isAdmin: boolean }) {
  const api = useApi();
  const router = useRouter();
  const [name, setName] = useState('');
  const [owner, setOwner] = useState<PickerOption[]>([]);
  const ownerId = owner[0]?.id ?? '';
  const [description, setDescription] = useState('');
  const [quota, setQuota] = useState('');
  const [verified, setVerified] = useState(false);
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const server = fieldErrors(problem);
  const nameError = server.name ?? (touched && name && !looksLikeDomainName(name.trim()) ? 'Enter a domain name like example.com (no trailing dot, no IP address).' : undefined);
  const quotaBytes = parseByteInput(quota);
  const quotaError = server.defaultQuotaBytes ?? (quotaBytes === undefined ? 'Enter a size like 500 MB or 2 GB, or leave empty for no limit.' : undefined);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (!looksLikeDomainName(name.trim()) || quotaBytes === undefined) return;
    setBusy(true);
    setProblem(undefined);
    const r = await api<Domain>('POST', '/domains', {
      name: name.trim(),
      ...(ownerId ? { ownerId } : {}),
      ...(description.trim() ? { description: description.trim() } : {}),
      ...(quotaBytes !== null ? { defaultQuotaBytes: quotaBytes } : {}),
      ...(isAdmin && verified ? { verified: true } : {}),
    });
    if (r.ok) {
      router.push(`/domains/${r.data.id}`);
      router.refresh();
      return;
    }
    setBusy(false);
    setProblem(r.problem);
  }

  return (
    <Form onSubmit={submit} className="space-y-5">
      {problem && <Alert>{problem.code === 'ALREADY_EXISTS' ? `${problem.detail ?? 'That domain is already hosted here'}.` : problemMessage(problem)}</Alert>}
      <Field id="name" label="Domain name" hint="International names are fine; they are stored as punycode." error={nameError}>
        <input id="name" name="name" required autoComplete="off" autoCapitalize="none" spellCheck={false} placeholder="example.com" value={name} onChange={(e) => setName(e.target.value)} onBlur={() => setTouched(true)} className={inputClass} {...describedBy('name', nameError, true)} />
      </Field>
      {isAdmin && (
        <div>
          {/* every owner is reachable by searching their email, however many there are */}
          <SearchPicker<Owner>
            label="Owner (none chosen: you)"
            path="/owners"
            multiple={false}
            filter={(o) => !o.disabled}
            toOption={(o) => ({ id: o.id, label: o.email })}
            selected={owner}
            onChange={setOwner}
            placeholder="Search owners by email"
          />
          {server.ownerId && <p className="mt-1 text-sm font-medium text-red-700">{server.ownerId}</p>}
        </div>
      )}
      <Field id="description" label="Description" optional error={server.description}>
        <input id="description" name="description" value={description} onChange={(e) => setDescription(e.target.value)} className={inputClass} {...describedBy('description', server.description)} />
      </Field>
      <Field id="defaultQuota" label="Default mailbox quota" optional hint="Given to new mailboxes, e.g. 1 GB. Empty means no limit." error={quotaError}>
        <input id="defaultQuota" name="defaultQuota" inputMode="text" placeholder="1 GB" value={quota} onChange={(e) => setQuota(e.target.value)} className={inputClass} {...describedBy('defaultQuota', quotaError, true)} />
      </Field>
      {isAdmin && (
        <div className="flex items-start gap-2">
          <input id="verified" type="checkbox" checked={verified} onChange={(e) => setVerified(e.target.checked)} className="mt-0.5 h-4 w-4 rounded border-slate-300" aria-describedby="verified-hint" />
          <div>
            <label htmlFor="verified" className="text-sm font-medium text-slate-800">
              Ownership already verified
            </label>
            <p id="verified-hint" className="text-xs text-slate-600">
              Admins only: host it at once (e.g. your billing system checked it). Otherwise it stays pending until its TXT record is verified.
            </p>
          </div>
        </div>
      )}
      <div className="flex gap-3">
        <button type="submit" className={buttonClass('primary')} disabled={busy}>
          {busy ? 'Adding…' : 'Add domain'}
        </button>
      </div>
    </Form>
  );
}
