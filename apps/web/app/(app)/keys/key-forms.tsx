'use client';
import { Form } from '@/components/form';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ConfirmButton } from '@/components/confirm-button';
import { ShownOnce } from '@/components/shown-once';
import { Alert, buttonClass, Card, describedBy, Field, inputClass } from '@/components/ui';
import { fieldErrors, problemMessage, useApi, type ClientProblem } from '@/lib/client';
import { SearchPicker, type PickerOption } from '@/components/search-picker';
import type { ApiKeyScope, CreatedApiKey, Domain } from '@/lib/types';

const FAMILIES: { family: string; label: string }[] = [
  { family: 'domains', label: 'Domains' },
  { family: 'mailboxes', label: 'Mailboxes' },
  { family: 'aliases', label: 'Aliases' },
  { family: 'api-keys', label: 'API keys' },
  { family: 'owners', label: 'Owners (admins)' },
  { family: 'audit', label: 'Audit log' },
  { family: 'webhooks', label: 'Webhooks' },
];

export function CreateKeyForm({ hasDomains }: { hasDomains: boolean }) {
  const api = useApi();
  const router = useRouter();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['domains:read', 'mailboxes:read', 'mailboxes:write']);
  const [domains, setDomains] = useState<PickerOption[]>([]);
  const domainIds = domains.map((d) => d.id);
  const [expires, setExpires] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const [created, setCreated] = useState<CreatedApiKey>();
  const server = fieldErrors(problem);

  function toggle(list: string[], v: string, on: boolean) {
    return on ? [...new Set([...list, v])] : list.filter((x) => x !== v);
  }

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setProblem(undefined);
    setCreated(undefined);
    const r = await api<CreatedApiKey>('POST', '/api-keys', {
      name: name.trim(),
      scopes: scopes as ApiKeyScope[],
      ...(domainIds.length ? { domainIds } : {}),
      ...(expires ? { expiresAt: new Date(`${expires}T23:59:59Z`).toISOString() } : {}),
    });
    setBusy(false);
    if (!r.ok) return setProblem(r.problem);
    setCreated(r.data);
    setName('');
    router.refresh();
  }

  return (
    <Card id="new-key" title="Create a key">
      {created && <ShownOnce title={`Key “${created.name}” created. Copy it now: it is shown only once.`} value={created.key} label="API key" testId="new-api-key" />}
      <Form onSubmit={submit} className="space-y-5">
        {problem && <Alert>{problemMessage(problem)}</Alert>}
        <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
          <Field id="key-name" label="Name" hint="What uses it, e.g. “billing sync”." error={server.name}>
            <input id="key-name" required value={name} onChange={(e) => setName(e.target.value)} className={inputClass} {...describedBy('key-name', server.name, true)} />
          </Field>
          <Field id="key-expires" label="Expires on" optional hint="Empty: never expires." error={server.expiresAt}>
            <input id="key-expires" type="date" value={expires} onChange={(e) => setExpires(e.target.value)} className={inputClass} {...describedBy('key-expires', server.expiresAt, true)} />
          </Field>
        </div>
        <fieldset>
          <legend className="text-sm font-medium text-slate-800">Permissions</legend>
          {server.scopes && <p className="mt-1 text-xs font-medium text-red-700">{server.scopes}</p>}
          <div className="mt-2 overflow-x-auto">
            <table className="text-sm">
              <thead>
                <tr className="text-left text-xs text-slate-600">
                  <th scope="col" className="py-1 pr-6 font-medium">Resource</th>
                  <th scope="col" className="px-3 py-1 font-medium">Read</th>
                  <th scope="col" className="px-3 py-1 font-medium">Write</th>
                </tr>
              </thead>
              <tbody>
                {FAMILIES.map((f) => (
                  <tr key={f.family}>
                    <th scope="row" className="py-1 pr-6 text-left font-normal text-slate-800">
                      {f.label}
                    </th>
                    {(['read', 'write'] as const).map((level) => {
                      const scope = `${f.family}:${level}`;
                      if (f.family === 'audit' && level === 'write') return <td key={level} />;
                      return (
                        <td key={level} className="px-3 py-1 text-center">
                          <input type="checkbox" aria-label={`${f.label} ${level}`} checked={scopes.includes(scope)} onChange={(e) => setScopes((s) => toggle(s, scope, e.target.checked))} className="h-4 w-4 accent-brand-600" />
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </fieldset>
        {hasDomains && (
          <div>
            <SearchPicker<Domain>
              label="Restrict to domains"
              path="/domains"
              toOption={(d) => ({ id: d.id, label: d.name })}
              selected={domains}
              onChange={setDomains}
              placeholder="Search your domains"
            />
            <p className="mt-1 text-xs text-slate-600">None chosen: every domain you can manage, including future ones.</p>
          </div>
        )}
        <button type="submit" className={buttonClass('primary')} disabled={busy || !name.trim() || scopes.length === 0}>
          {busy ? 'Creating…' : 'Create key'}
        </button>
      </Form>
    </Card>
  );
}

export function RevokeKey({ id, name }: { id: string; name: string }) {
  const api = useApi();
  const router = useRouter();
  return (
    <ConfirmButton
      label="Revoke"
      title={`Revoke “${name}”?`}
      confirmLabel="Revoke key"
      onConfirm={async () => {
        const r = await api('DELETE', `/api-keys/${id}`);
        if (!r.ok) return problemMessage(r.problem);
        router.refresh();
        return undefined;
      }}
    >
      <p>Every request made with this key fails from now on. Systems using it stop working until you give them a new key.</p>
    </ConfirmButton>
  );
}
