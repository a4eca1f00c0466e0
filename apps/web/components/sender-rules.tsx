'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { ConfirmButton } from '@/components/confirm-button';
import { Badge, buttonClass, describedBy, Field, inputClass, RadioGroup } from '@/components/ui';
import { problemMessage, useApi } from '@/lib/client';
import { senderListPath } from '@/lib/sender-lists';
import type { SenderRule } from '@/lib/types';
import { useHydrated } from '@/lib/use-hydrated';
import { createSenderRule } from '@/app/(app)/actions';
import { SenderRulesImport } from './sender-rules-import';

const ACTIONS = [
  ['block', 'Block: refuse mail from this sender'],
  ['allow', 'Allow: never delay this sender by greylisting'],
] as const;

function RuleRow({ rule, readOnly }: { rule: SenderRule; readOnly: boolean }) {
  const api = useApi();
  const router = useRouter();
  const hydrated = useHydrated();
  const [error, setError] = useState<string>();
  const other = rule.action === 'block' ? 'allow' : 'block';

  async function flip() {
    setError(undefined);
    const r = await api('PATCH', `/sender-rules/${rule.id}`, { action: other });
    if (!r.ok) setError(problemMessage(r.problem));
    else router.refresh();
  }

  return (
    <li className="py-3">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <p className="flex min-w-0 flex-wrap items-center gap-2">
          <span className="font-medium break-all text-slate-900">{rule.pattern}</span>
          {rule.action === 'block' ? <Badge tone="red">Blocked</Badge> : <Badge tone="green">Allowed</Badge>}
          {rule.pattern.startsWith('.') ? (
            <span className="text-xs text-slate-600">every domain under it</span>
          ) : (
            !rule.pattern.includes('@') && <span className="text-xs text-slate-600">and its subdomains</span>
          )}
        </p>
        {!readOnly && (
          <div className="flex flex-wrap gap-2">
            <button type="button" className={buttonClass('secondary', 'sm')} onClick={flip} disabled={!hydrated}>
              {other === 'allow' ? 'Allow instead' : 'Block instead'}
            </button>
            <ConfirmButton
              label="Delete"
              title={`Delete the rule for ${rule.pattern}?`}
              confirmLabel="Delete rule"
              onConfirm={async () => {
                const r = await api('DELETE', `/sender-rules/${rule.id}`);
                if (!r.ok) return problemMessage(r.problem);
                router.refresh();
                return undefined;
              }}
            >
              <p>Mail from {rule.pattern} is then treated like anyone else’s.</p>
            </ConfirmButton>
          </div>
        )}
      </div>
      {error && (
        <p role="alert" className="mt-2 text-sm font-medium text-red-700">
          {error}
        </p>
      )}
    </li>
  );
}

/** Whose list it is: a domain's own (its owner's) or one mailbox's (its user's, or its owner's for it). */
export interface SenderRuleList {
  kind: 'domain' | 'mailbox';
  id: string;
  /** The domain's name or the mailbox's address. */
  name: string;
}

/**
 * A list of blocked and allowed envelope senders, and a form to add one; `readOnly` (a mailbox user whose domain's
 * owner keeps the list) shows the rules and the export only.
 */
export function SenderRulesEditor({ list, rules, readOnly = false }: { list: SenderRuleList; rules: SenderRule[]; readOnly?: boolean }) {
  return (
    <div className="space-y-6">
      {rules.length === 0 ? (
        <p className="text-sm text-slate-600">No sender rules yet: mail from every sender is checked the usual way.</p>
      ) : (
        <ul className="-mt-3 divide-y divide-slate-100">
          {rules.map((r) => (
            <RuleRow key={r.id + r.updatedAt} rule={r} readOnly={readOnly} />
          ))}
        </ul>
      )}
      {readOnly ? (
        <p className="border-t border-slate-200 pt-4 text-sm text-slate-700">
          The owner of your domain keeps this list: ask them to add or remove a sender.{' '}
          <a href={`/api/v1${senderListPath(list)}/export`} download className="text-brand-700 underline">
            Export CSV
          </a>
        </p>
      ) : (
        <>
          <ApiForm
            action={createSenderRule.bind(null, list.kind, list.id)}
            className="space-y-4 border-t border-slate-200 pt-4"
            resetOnSuccess
          >
            {(f) => (
              <>
                <h3 className="text-sm font-semibold text-slate-900">Add a sender</h3>
                <Field
                  id="sender-pattern"
                  label="Sender address or domain"
                  hint={`name@example.com for one address; example.com for every address at that domain and its subdomains; .xyz for every domain under a top-level domain. Applies to mail for ${list.name}.`}
                  error={f.errors.pattern}
                >
                  <input
                    id="sender-pattern"
                    name="pattern"
                    defaultValue={f.value('pattern')}
                    placeholder="newsletter@example.com"
                    autoCapitalize="none"
                    spellCheck={false}
                    className={inputClass}
                    {...describedBy('sender-pattern', f.errors.pattern, true)}
                  />
                </Field>
                <RadioGroup
                  legend="What to do with its mail"
                  name="action"
                  choices={ACTIONS}
                  value={f.value('action', 'block')}
                  error={f.errors.action}
                />
                <SubmitButton pending={f.pending} label="Add sender rule" pendingLabel="Adding…" />
              </>
            )}
          </ApiForm>
          <SenderRulesImport list={list} />
        </>
      )}
    </div>
  );
}
