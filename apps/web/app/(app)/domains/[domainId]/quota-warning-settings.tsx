'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { Form } from '@/components/form';
import { Alert, buttonClass, Card, describedBy, Field, inputClass } from '@/components/ui';
import { fieldErrors, problemMessage, useApi, type ClientProblem } from '@/lib/client';
import type { Domain } from '@/lib/types';

/** "80, 95" → [80, 95]; '' → null (the operator default); undefined when it is not a list of whole percentages. */
function parseThresholds(v: string): number[] | null | undefined {
  const t = v.trim();
  if (!t) return null;
  const parts = t.split(/[\s,;]+/).filter(Boolean);
  if (!parts.every((p) => /^\d{1,3}%?$/.test(p))) return undefined;
  const nums = parts.map((p) => Number(p.replace('%', '')));
  return nums.every((n) => n >= 1 && n <= 100) && new Set(nums).size === nums.length && nums.length <= 5 ? nums : undefined;
}

/** The domain's quota warning thresholds: when a delivery fills a mailbox past one, a warning goes into the mailbox. */
export function QuotaWarningSettings({ domain }: { domain: Domain }) {
  const api = useApi();
  const router = useRouter();
  const [value, setValue] = useState(domain.quotaWarningThresholds?.join(', ') ?? '');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const [saved, setSaved] = useState(false);
  const parsed = parseThresholds(value);
  const error = fieldErrors(problem).quotaWarningThresholds ?? (parsed === undefined ? 'Up to five different whole percentages from 1 to 100, like 80, 95.' : undefined);
  return (
    <Card
      id="quota-warnings"
      title="Quota warnings"
      description="When a delivery fills a mailbox past one of these percentages of its quota, a warning from postmaster is delivered into the mailbox once (it does not count against the quota). It is sent again after usage fell below the threshold."
    >
      <Form
        className="max-w-xl space-y-4"
        onSubmit={async (e) => {
          e.preventDefault();
          if (parsed === undefined) return;
          setBusy(true);
          setProblem(undefined);
          setSaved(false);
          const r = await api<Domain>('PATCH', `/domains/${domain.id}`, { quotaWarningThresholds: parsed });
          setBusy(false);
          if (!r.ok) return setProblem(r.problem);
          setSaved(true);
          router.refresh();
        }}
      >
        {problem && <Alert>{problemMessage(problem)}</Alert>}
        {saved && <Alert tone="success">Saved.</Alert>}
        <Field id="quota-thresholds" label="Thresholds (percent)" optional hint="e.g. 80, 95. Empty: the server's default (usually 80 and 95)." error={error}>
          <input id="quota-thresholds" value={value} onChange={(e) => setValue(e.target.value)} className={inputClass} {...describedBy('quota-thresholds', error, true)} />
        </Field>
        <button type="submit" className={buttonClass('primary')} disabled={busy}>
          {busy ? 'Saving…' : 'Save thresholds'}
        </button>
      </Form>
    </Card>
  );
}
