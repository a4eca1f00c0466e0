'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { fieldErrors, problemMessage, useApi, type ClientProblem } from '@/lib/client';
import { Form } from './form';
import { Alert, buttonClass, Card, describedBy, Field, inputClass } from './ui';

// Mirrors core's loginDelaySecondsSchema / retentionDaysSchema bounds (the API stays the authority).
const MAX_LOGIN_DELAY_SECONDS = 86_400;
const MAX_RETENTION_DAYS = 36_500;

type RetentionMode = 'inherit' | 'never' | 'retrieved' | 'days';

function wholeNumber(v: string, max: number): number | undefined {
  const t = v.trim();
  return /^\d{1,6}$/.test(t) && Number(t) <= max ? Number(t) : undefined;
}

/**
 * RFC 2449 POP3 policy of a domain or a mailbox: LOGIN-DELAY (minimum seconds between logins) and EXPIRE (how long
 * mail may stay on the server: inherited, kept until deleted = NEVER, deleted once downloaded = EXPIRE 0, or kept n days). Empty / "inherit" sends
 * null: the mailbox takes its domain's value, the domain the operator's default.
 */
export function Pop3PolicyForm({
  kind,
  id,
  loginDelaySeconds,
  retentionDays,
}: {
  kind: 'domain' | 'mailbox';
  id: string;
  loginDelaySeconds: number | null;
  retentionDays: number | 'never' | null;
}) {
  const api = useApi();
  const router = useRouter();
  const [delay, setDelay] = useState(loginDelaySeconds?.toString() ?? '');
  const [mode, setMode] = useState<RetentionMode>(retentionDays === null ? 'inherit' : retentionDays === 'never' ? 'never' : retentionDays === 0 ? 'retrieved' : 'days');
  const [days, setDays] = useState(typeof retentionDays === 'number' && retentionDays > 0 ? String(retentionDays) : '30');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const [saved, setSaved] = useState(false);
  const server = fieldErrors(problem);
  const inherited = kind === 'mailbox' ? "the domain's setting" : "the server's default";
  const prefix = `${kind}-pop3`;

  const delayValue = delay.trim() === '' ? null : wholeNumber(delay, MAX_LOGIN_DELAY_SECONDS);
  const delayError = server.loginDelaySeconds ?? (delayValue === undefined ? `Whole seconds from 0 to ${MAX_LOGIN_DELAY_SECONDS}, or empty to use ${inherited}.` : undefined);
  const daysValue = mode === 'days' ? wholeNumber(days, MAX_RETENTION_DAYS) : undefined;
  const daysError = server.retentionDays ?? (mode === 'days' && (daysValue === undefined || daysValue === 0) ? `Whole days from 1 to ${MAX_RETENTION_DAYS}.` : undefined);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    if (delayValue === undefined || daysError) return;
    const retention = mode === 'inherit' ? null : mode === 'never' ? 'never' : mode === 'retrieved' ? 0 : daysValue!;
    setBusy(true);
    setProblem(undefined);
    setSaved(false);
    const r = await api('PATCH', `/${kind === 'domain' ? 'domains' : 'mailboxes'}/${id}`, { loginDelaySeconds: delayValue, retentionDays: retention });
    setBusy(false);
    if (!r.ok) return setProblem(r.problem);
    setSaved(true);
    router.refresh();
  }

  return (
    <Card
      id={prefix}
      title="POP3 policy"
      description={`How often mail clients may sign in and how long mail may stay on the server (RFC 2449 LOGIN-DELAY and EXPIRE). Empty or “inherit” uses ${inherited}.`}
    >
      <Form className="max-w-xl space-y-4" onSubmit={submit}>
        {problem && <Alert>{problemMessage(problem)}</Alert>}
        {saved && <Alert tone="success">POP3 policy saved.</Alert>}
        <Field id={`${prefix}-delay`} label="Minimum time between logins (seconds)" optional hint={`e.g. 300 for 5 minutes; 0 for none; empty: ${inherited}.`} error={delayError}>
          <input id={`${prefix}-delay`} inputMode="numeric" value={delay} onChange={(e) => setDelay(e.target.value)} className={inputClass} {...describedBy(`${prefix}-delay`, delayError, true)} />
        </Field>
        <fieldset>
          <legend className="text-sm font-medium text-slate-800">Keep mail on the server</legend>
          <div className="mt-1 space-y-1 text-sm text-slate-800">
            <label className="flex items-center gap-2">
              <input type="radio" name={`${prefix}-mode`} value="inherit" checked={mode === 'inherit'} onChange={() => setMode('inherit')} className="h-4 w-4 accent-brand-600" />
              Inherit {inherited}
            </label>
            <label className="flex items-center gap-2">
              <input type="radio" name={`${prefix}-mode`} value="never" checked={mode === 'never'} onChange={() => setMode('never')} className="h-4 w-4 accent-brand-600" />
              Keep until a mail client deletes it (EXPIRE NEVER)
            </label>
            <label className="flex items-center gap-2">
              <input type="radio" name={`${prefix}-mode`} value="retrieved" checked={mode === 'retrieved'} onChange={() => setMode('retrieved')} className="h-4 w-4 accent-brand-600" />
              Delete each message once a mail client has downloaded it (EXPIRE 0)
            </label>
            <label className="flex items-center gap-2">
              <input type="radio" name={`${prefix}-mode`} value="days" checked={mode === 'days'} onChange={() => setMode('days')} className="h-4 w-4 accent-brand-600" />
              Delete messages older than a number of days
            </label>
          </div>
        </fieldset>
        {mode === 'days' && (
          <Field id={`${prefix}-days`} label="Days to keep messages" error={daysError}>
            <input id={`${prefix}-days`} inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} className={inputClass} {...describedBy(`${prefix}-days`, daysError)} />
          </Field>
        )}
        <button type="submit" className={buttonClass('primary')} disabled={busy}>
          {busy ? 'Saving…' : 'Save POP3 policy'}
        </button>
      </Form>
    </Card>
  );
}
