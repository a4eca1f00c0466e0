'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { ConfirmButton } from '@/components/confirm-button';
import { SearchPicker, type PickerOption } from '@/components/search-picker';
import { problemMessage, useApi } from '@/lib/client';
import type { Domain } from '@/lib/types';
import { pointAliasDomain } from '../actions';

/**
 * An alias domain's target can change (a renamed company, a merged brand) to another verified domain of the same
 * owner, and the alias domain can become a domain of its own. The API checks the same rules as at creation.
 */
export function AliasTargetForm({ domain, target }: { domain: Domain; target: NonNullable<Domain['aliasOf']> }) {
  const api = useApi();
  const router = useRouter();
  return (
    <div className="mt-6 space-y-4 border-t border-slate-200 pt-4">
      <AliasTargetPicker domain={domain} exclude={target.id} label="Send its mail to another domain instead" submit="Change target" />
      <ConfirmButton
        variant="secondary"
        label="Make it a domain of its own"
        title={`Stop delivering ${domain.name} to ${target.name}?`}
        confirmLabel="Make it a domain of its own"
        onConfirm={async () => {
          const r = await api('PATCH', `/domains/${domain.id}`, { aliasOf: null });
          if (!r.ok) return problemMessage(r.problem);
          router.refresh();
          return undefined;
        }}
      >
        <p>
          Mail to name@{domain.name} is refused until you add mailboxes or aliases to it. The mailboxes of {target.name} keep their mail. It
          cannot be made an alias domain again once it has mailboxes.
        </p>
      </ConfirmButton>
    </div>
  );
}

/**
 * Picks another verified, non-alias domain of the same owner (nor `exclude`, the current target) and points `domain` at it: a new
 * target for an alias domain, or, for an empty domain, making it an alias domain (the API refuses a domain that holds
 * anything).
 */
export function AliasTargetPicker({ domain, exclude, label, submit }: { domain: Domain; exclude?: string; label: string; submit: string }) {
  const [choice, setChoice] = useState<PickerOption[]>([]);
  return (
    <ApiForm action={pointAliasDomain.bind(null, domain.id)} className="max-w-xl space-y-3">
      {(f) => (
        <>
          <SearchPicker<Domain>
            label={label}
            path="/domains"
            multiple={false}
            filter={(d) =>
              d.verificationStatus === 'verified' && !d.aliasOf && d.id !== exclude && d.id !== domain.id && d.ownerId === domain.ownerId
            }
            toOption={(d) => ({ id: d.id, label: d.name })}
            selected={choice}
            onChange={setChoice}
            placeholder="Search your verified domains"
          />
          <input type="hidden" name="aliasOf" value={choice[0]?.id ?? ''} />
          {f.errors.aliasOf && <p className="text-sm font-medium text-red-700">{f.errors.aliasOf}</p>}
          <SubmitButton pending={f.pending} label={submit} pendingLabel="Saving…" />
        </>
      )}
    </ApiForm>
  );
}
