'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ApiForm, clearInputs, SubmitButton } from '@/components/api-form';
import { ConfirmButton } from '@/components/confirm-button';
import { ShownOnce } from '@/components/shown-once';
import { Card, TextField } from '@/components/ui';
import { problemMessage, useApi } from '@/lib/client';
import { SearchPicker, type PickerOption } from '@/components/search-picker';
import type { CreatedApiKey, Domain } from '@/lib/types';
import { createApiKey } from './actions';

const FAMILIES: { family: string; label: string }[] = [
  { family: 'domains', label: 'Domains' },
  { family: 'mailboxes', label: 'Mailboxes' },
  { family: 'aliases', label: 'Aliases' },
  { family: 'api-keys', label: 'API keys' },
  { family: 'owners', label: 'Owners (admins)' },
  { family: 'audit', label: 'Audit log' },
  { family: 'webhooks', label: 'Webhooks' },
];

const DEFAULT_SCOPES = ['domains:read', 'mailboxes:read', 'mailboxes:write'];

export function CreateKeyForm({ hasDomains }: { hasDomains: boolean }) {
  const [domains, setDomains] = useState<PickerOption[]>([]);
  const [created, setCreated] = useState<CreatedApiKey>();

  return (
    <Card id="new-key" title="Create a key">
      {created && (
        <ShownOnce
          title={`Key “${created.name}” created. Copy it now: it is shown only once.`}
          value={created.key}
          label="API key"
          testId="new-api-key"
        />
      )}
      <ApiForm<CreatedApiKey>
        action={createApiKey}
        className="space-y-5"
        onAnswer={(s, form) => {
          setCreated(s.ok ? s.data : undefined);
          if (s.ok) clearInputs(form, ['name']);
        }}
      >
        {(f) => (
          <>
            <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
              <TextField
                id="key-name"
                label="Name"
                hint="What uses it, e.g. “billing sync”."
                error={f.errors.name}
                name="name"
                required
                defaultValue={f.value('name')}
              />
              <TextField
                id="key-expires"
                label="Expires on"
                optional
                hint="Empty: never expires."
                error={f.errors.expiresAt}
                name="expiresAt"
                type="date"
                defaultValue={f.value('expiresAt')}
              />
            </div>
            <fieldset>
              <legend className="text-sm font-medium text-slate-800">Permissions</legend>
              {f.errors.scopes && <p className="mt-1 text-xs font-medium text-red-700">{f.errors.scopes}</p>}
              <div className="mt-2 overflow-x-auto">
                <table className="text-sm">
                  <thead>
                    <tr className="text-left text-xs text-slate-600">
                      <th scope="col" className="py-1 pr-6 font-medium">
                        Resource
                      </th>
                      <th scope="col" className="px-3 py-1 font-medium">
                        Read
                      </th>
                      <th scope="col" className="px-3 py-1 font-medium">
                        Write
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {FAMILIES.map((fam) => (
                      <tr key={fam.family}>
                        <th scope="row" className="py-1 pr-6 text-left font-normal text-slate-800">
                          {fam.label}
                        </th>
                        {(['read', 'write'] as const).map((level) => {
                          const scope = `${fam.family}:${level}`;
                          if (fam.family === 'audit' && level === 'write') return <td key={level} />;
                          return (
                            <td key={level} className="px-3 py-1 text-center">
                              <input
                                type="checkbox"
                                name="scopes"
                                value={scope}
                                aria-label={`${fam.label} ${level}`}
                                defaultChecked={DEFAULT_SCOPES.includes(scope)}
                                className="h-4 w-4 accent-brand-600"
                              />
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
                {domains.map((d) => (
                  <input key={d.id} type="hidden" name="domainIds" value={d.id} />
                ))}
                <p className="mt-1 text-xs text-slate-600">None chosen: every domain you can manage, including future ones.</p>
              </div>
            )}
            <SubmitButton pending={f.pending} label="Create key" pendingLabel="Creating…" />
          </>
        )}
      </ApiForm>
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
