'use client';
import { useRouter } from 'next/navigation';
import { useId, useState } from 'react';
import { problemMessage, useApi } from '@/lib/client';
import { useHydrated } from '@/lib/use-hydrated';

/**
 * The owner's switch on the domain's card: whether the domain's mailbox users change their own mailbox's list (the
 * default) or only see it (`mailboxUsersSenderRules` false). Saved as it is ticked.
 */
export function MailboxUsersSenderRules({ domainId, allowed }: { domainId: string; allowed: boolean }) {
  const api = useApi();
  const router = useRouter();
  const hydrated = useHydrated();
  const id = useId();
  const [checked, setChecked] = useState(allowed);
  const [state, setState] = useState<{ saving?: boolean; error?: string; saved?: boolean }>({});

  async function change(next: boolean) {
    setChecked(next);
    setState({ saving: true });
    // null is the default (users may); false keeps the lists with the owner
    const r = await api('PATCH', `/domains/${domainId}`, { mailboxUsersSenderRules: next ? null : false });
    if (!r.ok) {
      setChecked(!next);
      setState({ error: problemMessage(r.problem) });
      return;
    }
    setState({ saved: true });
    router.refresh();
  }

  return (
    <div className="border-t border-slate-200 pt-4">
      <label className="flex items-start gap-2 text-sm text-slate-800">
        <input
          type="checkbox"
          checked={checked}
          disabled={!hydrated || state.saving}
          onChange={(e) => change(e.target.checked)}
          className="mt-0.5 h-4 w-4 accent-brand-600"
          aria-describedby={`${id}-hint`}
        />
        <span>
          <span className="font-medium">Mailbox users keep their own lists</span>
          <span id={`${id}-hint`} className="block text-xs text-slate-600">
            Each mailbox has its own list beside this one. Untick to keep them yourself: users then see theirs but cannot change it (you
            still can, on each mailbox’s page).
          </span>
        </span>
      </label>
      <p aria-live="polite" className="mt-1 text-xs">
        {state.error ? (
          <span className="font-medium text-red-700">{state.error}</span>
        ) : state.saved ? (
          <span className="text-slate-600">Saved.</span>
        ) : null}
      </p>
    </div>
  );
}
