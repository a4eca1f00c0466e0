'use client';
import { useState } from 'react';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { SearchPicker, type PickerOption } from '@/components/search-picker';
import { TextField } from '@/components/ui';
import { parseByteInput } from '@/lib/format';
import type { Domain, Owner } from '@/lib/types';
import { looksLikeDomainName } from '@/lib/validation';
import { createDomain } from '../actions';

export function NewDomainForm({ isAdmin, aliasOf: initialAliasOf }: { isAdmin: boolean; aliasOf?: PickerOption | undefined }) {
  const [owner, setOwner] = useState<PickerOption[]>([]);
  const [aliasOf, setAliasOf] = useState<PickerOption[]>(initialAliasOf ? [initialAliasOf] : []);
  // live first checks only; the inputs are uncontrolled and the action reads the form's own data
  const [name, setName] = useState('');
  const [quota, setQuota] = useState('');
  const [touched, setTouched] = useState(false);

  return (
    <ApiForm action={createDomain} className="space-y-5">
      {(f) => {
        const nameError =
          f.errors.name ??
          (touched && name && !looksLikeDomainName(name.trim())
            ? 'Enter a domain name like example.com (no trailing dot, no IP address).'
            : undefined);
        const quotaError =
          f.errors.defaultQuota ??
          (parseByteInput(quota) === undefined ? 'Enter a size like 500 MB or 2 GB, or leave empty for no limit.' : undefined);
        return (
          <>
            <TextField
              id="name"
              label="Domain name"
              hint="International names are fine; they are stored as punycode."
              error={nameError}
              name="name"
              required
              autoComplete="off"
              autoCapitalize="none"
              spellCheck={false}
              placeholder="example.com"
              defaultValue={f.value('name')}
              onChange={(e) => setName(e.target.value)}
              onBlur={() => setTouched(true)}
            />
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
                <input type="hidden" name="ownerId" value={owner[0]?.id ?? ''} />
                {f.errors.ownerId && <p className="mt-1 text-sm font-medium text-red-700">{f.errors.ownerId}</p>}
              </div>
            )}
            <div>
              {/* an alias domain's target: a verified domain that is not an alias itself (the API checks the owner) */}
              <SearchPicker<Domain>
                label="Alias of (optional): deliver its mail to the same names at"
                path="/domains"
                multiple={false}
                filter={(d) => d.verificationStatus === 'verified' && !d.aliasOf}
                toOption={(d) => ({ id: d.id, label: isAdmin ? `${d.name} (${d.ownerEmail})` : d.name })}
                selected={aliasOf}
                onChange={setAliasOf}
                placeholder="Search your verified domains"
              />
              <input type="hidden" name="aliasOf" value={aliasOf[0]?.id ?? ''} />
              <p className="mt-1 text-xs text-slate-600">
                An alias domain has no mailboxes of its own: mail to name@it goes to name@the domain chosen here.
              </p>
              {f.errors.aliasOf && <p className="mt-1 text-sm font-medium text-red-700">{f.errors.aliasOf}</p>}
            </div>
            <TextField
              id="description"
              label="Description"
              optional
              error={f.errors.description}
              name="description"
              defaultValue={f.value('description')}
            />
            {aliasOf.length === 0 && (
              <TextField
                id="defaultQuota"
                label="Default mailbox quota"
                optional
                hint="Given to new mailboxes, e.g. 1 GB. Empty means no limit."
                error={quotaError}
                name="defaultQuota"
                inputMode="text"
                placeholder="1 GB"
                defaultValue={f.value('defaultQuota')}
                onChange={(e) => setQuota(e.target.value)}
              />
            )}
            {isAdmin && (
              <div className="flex items-start gap-2">
                <input
                  id="verified"
                  name="verified"
                  type="checkbox"
                  defaultChecked={f.value('verified') === 'on'}
                  className="mt-0.5 h-4 w-4 rounded border-slate-300"
                  aria-describedby="verified-hint"
                />
                <div>
                  <label htmlFor="verified" className="text-sm font-medium text-slate-800">
                    Ownership already verified
                  </label>
                  <p id="verified-hint" className="text-xs text-slate-600">
                    Admins only: host it at once (e.g. your billing system checked it). Otherwise it stays pending until its TXT record is
                    verified.
                  </p>
                </div>
              </div>
            )}
            <div className="flex gap-3">
              <SubmitButton pending={f.pending} label="Add domain" pendingLabel="Adding…" />
            </div>
          </>
        );
      }}
    </ApiForm>
  );
}
