'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { ConfirmButton } from '@/components/confirm-button';
import { Badge, buttonClass, describedBy, EmptyState, Field, inputClass } from '@/components/ui';
import { problemMessage, useApi } from '@/lib/client';
import { SearchPicker, type PickerOption } from '@/components/search-picker';
import type { Alias, Mailbox } from '@/lib/types';
import { useHydrated } from '@/lib/use-hydrated';
import { localPartProblem } from '@/lib/validation';
import { createAlias } from '../actions';

/**
 * The mailboxes an alias delivers to: a type-ahead search over every mailbox of the domain (the API's `q` filter),
 * however many there are; the chosen ones stay listed above the search.
 */
function Destinations({
  domainId,
  selected,
  onChange,
}: {
  domainId: string;
  selected: PickerOption[];
  onChange: (next: PickerOption[]) => void;
}) {
  return (
    <SearchPicker<Mailbox>
      label="Deliver to"
      path={`/domains/${domainId}/mailboxes`}
      toOption={(m) => ({ id: m.id, label: m.address })}
      selected={selected}
      onChange={onChange}
      placeholder="Search mailboxes by address or name"
    />
  );
}

function AliasRow({ alias }: { alias: Alias }) {
  const api = useApi();
  const router = useRouter();
  const hydrated = useHydrated();
  const [editing, setEditing] = useState(false);
  const [selected, setSelected] = useState<PickerOption[]>(alias.destinations.map((d) => ({ id: d.mailboxId, label: d.address })));
  const [error, setError] = useState<string>();
  const label =
    alias.localPart === null ? `Catch-all (*${alias.address.startsWith('@') ? alias.address : `@${alias.domain}`})` : alias.address;

  async function patch(body: object) {
    setError(undefined);
    const r = await api('PATCH', `/aliases/${alias.id}`, body);
    if (!r.ok) setError(problemMessage(r.problem));
    else {
      setEditing(false);
      router.refresh();
    }
  }

  return (
    <li className="py-3">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0">
          <p className="font-medium break-all text-slate-900">
            {label} {!alias.enabled && <Badge>Disabled</Badge>}
          </p>
          <p className="text-sm break-all text-slate-600">→ {alias.destinations.map((d) => d.address).join(', ') || 'nobody'}</p>
        </div>
        <div className="flex flex-wrap gap-2">
          <button
            type="button"
            className={buttonClass('secondary', 'sm')}
            onClick={() => setEditing((v) => !v)}
            aria-expanded={editing}
            disabled={!hydrated}
          >
            {editing ? 'Cancel' : 'Edit'}
          </button>
          <button
            type="button"
            className={buttonClass('secondary', 'sm')}
            onClick={() => patch({ enabled: !alias.enabled })}
            disabled={!hydrated}
          >
            {alias.enabled ? 'Disable' : 'Enable'}
          </button>
          <ConfirmButton
            label="Delete"
            title={`Delete ${label}?`}
            confirmLabel="Delete alias"
            onConfirm={async () => {
              const r = await api('DELETE', `/aliases/${alias.id}`);
              if (!r.ok) return problemMessage(r.problem);
              router.refresh();
              return undefined;
            }}
          >
            <p>
              Mail sent to {alias.localPart === null ? 'unknown addresses of the domain' : alias.address} will be rejected from now on. The
              mailboxes themselves are kept.
            </p>
          </ConfirmButton>
        </div>
      </div>
      {editing && (
        <div className="mt-3 space-y-3 rounded-md bg-slate-50 p-3">
          <Destinations domainId={alias.domainId} selected={selected} onChange={setSelected} />
          <button
            type="button"
            className={buttonClass('primary', 'sm')}
            disabled={selected.length === 0}
            onClick={() => patch({ destinations: selected.map((d) => d.id) })}
          >
            Save destinations
          </button>
        </div>
      )}
      {error && (
        <p role="alert" className="mt-2 text-sm font-medium text-red-700">
          {error}
        </p>
      )}
    </li>
  );
}

export function AliasEditor({
  domainId,
  domainName,
  aliases,
  hasMailboxes,
}: {
  domainId: string;
  domainName: string;
  aliases: Alias[];
  hasMailboxes: boolean;
}) {
  const hasCatchAll = aliases.some((a) => a.localPart === null);
  // live first checks and the chosen mailboxes; the inputs are uncontrolled and the action reads the form's own data
  const [localPart, setLocalPart] = useState('');
  const [catchAll, setCatchAll] = useState(false);
  const [selected, setSelected] = useState<PickerOption[]>([]);

  return (
    <div className="space-y-6">
      {aliases.length === 0 ? (
        <p className="text-sm text-slate-600">No aliases yet. Mail to addresses without a mailbox is rejected.</p>
      ) : (
        <ul className="-mt-3 divide-y divide-slate-100">
          {aliases.map((a) => (
            <AliasRow key={a.id + a.updatedAt} alias={a} />
          ))}
        </ul>
      )}
      {!hasMailboxes ? (
        <EmptyState title="Create a mailbox first">Aliases deliver to mailboxes of this domain.</EmptyState>
      ) : (
        <ApiForm
          action={createAlias.bind(null, domainId)}
          className="space-y-4 border-t border-slate-200 pt-4"
          resetOnSuccess
          onAnswer={(st) => {
            if (!st.ok) return;
            setLocalPart('');
            setCatchAll(false);
            setSelected([]);
          }}
        >
          {(f) => {
            const lpError = f.errors.localPart ?? (localPart && !catchAll ? localPartProblem(localPart.trim()) : undefined);
            return (
              <>
                <h3 id="new-alias-title" className="text-sm font-semibold text-slate-900">
                  Add an alias
                </h3>
                <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
                  <div className="space-y-2">
                    <Field id="alias-local" label="Alias address" error={lpError}>
                      <div className="flex items-center gap-2">
                        <input
                          id="alias-local"
                          name="localPart"
                          disabled={catchAll}
                          placeholder={catchAll ? '*' : undefined}
                          defaultValue={f.value('localPart')}
                          onChange={(e) => setLocalPart(e.target.value)}
                          autoCapitalize="none"
                          spellCheck={false}
                          className={inputClass}
                          {...describedBy('alias-local', lpError)}
                        />
                        <span className="shrink-0 text-sm text-slate-600">@{domainName}</span>
                      </div>
                    </Field>
                    <label className="flex items-center gap-2 text-sm text-slate-800">
                      <input
                        type="checkbox"
                        name="catchAll"
                        defaultChecked={false}
                        disabled={hasCatchAll}
                        onChange={(e) => setCatchAll(e.target.checked)}
                        className="h-4 w-4 accent-brand-600"
                      />
                      Catch-all: every address without a mailbox or alias {hasCatchAll && '(already set up)'}
                    </label>
                  </div>
                  <div>
                    <Destinations domainId={domainId} selected={selected} onChange={setSelected} />
                    {selected.map((d) => (
                      <input key={d.id} type="hidden" name="destinations" value={d.id} />
                    ))}
                    {f.errors.destinations && <p className="mt-1 text-xs font-medium text-red-700">{f.errors.destinations}</p>}
                  </div>
                </div>
                <SubmitButton pending={f.pending} label={catchAll ? 'Add catch-all' : 'Add alias'} pendingLabel="Adding…" />
              </>
            );
          }}
        </ApiForm>
      )}
    </div>
  );
}
