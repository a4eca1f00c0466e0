'use client';
// Account page: two-factor authentication with an authenticator app (TOTP) and recovery codes.
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { Form } from '@/components/form';
import { RecoveryCodesList } from '@/components/recovery-codes';
import { TotpEnrolmentForm } from '@/components/totp-enrolment';
import { Alert, Badge, buttonClass, describedBy, Field, inputClass } from '@/components/ui';
import { fieldErrors, problemMessage, useApi, type ClientProblem } from '@/lib/client';
import { formatDateTime } from '@/lib/format';
import type { RecoveryCodes, TotpEnrolment, TwoFactorStatus } from '@/lib/types';

/** A 6-digit entry is a code from the app; anything else is the password. */
function proofOf(value: string): { code: string } | { password: string } {
  return /^\d{6}$/.test(value.trim()) ? { code: value.trim() } : { password: value };
}

function ProofForm({ id, action, busy, problem, onSubmit }: { id: string; action: string; busy: boolean; problem?: ClientProblem | undefined; onSubmit: (proof: string) => void }) {
  const [value, setValue] = useState('');
  const errors = fieldErrors(problem);
  const error = errors.password ?? errors.code;
  return (
    <Form
      onSubmit={(e) => {
        e.preventDefault();
        if (value) onSubmit(value);
      }}
      className="flex flex-wrap items-end gap-3"
    >
      <Field id={id} label="Your password, or a code from your app" error={error}>
        <input id={id} type="password" autoComplete="current-password" required value={value} onChange={(e) => setValue(e.target.value)} className={inputClass} {...describedBy(id, error)} />
      </Field>
      <button type="submit" className={buttonClass('secondary')} disabled={busy || !value}>
        {action}
      </button>
    </Form>
  );
}

export function TwoFactorSection({ status, account }: { status: TwoFactorStatus; account: string }) {
  const api = useApi();
  const router = useRouter();
  const [enrolment, setEnrolment] = useState<TotpEnrolment>();
  const [codes, setCodes] = useState<string[]>();
  const [panel, setPanel] = useState<'regenerate' | 'disable'>();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ClientProblem>();
  const [notice, setNotice] = useState<string>();

  async function run<T>(method: string, path: string, body?: unknown): Promise<T | undefined> {
    setBusy(true);
    setProblem(undefined);
    setNotice(undefined);
    const r = await api<T>(method, path, body);
    setBusy(false);
    if (!r.ok) {
      setProblem(r.problem);
      return undefined;
    }
    return r.data ?? (null as T);
  }

  const banner = problem && !fieldErrors(problem).password && !fieldErrors(problem).code && !enrolment ? <Alert>{problemMessage(problem)}</Alert> : null;

  if (codes) {
    return (
      <div className="space-y-4">
        <Alert tone="success">{status.totp.enabled ? 'New recovery codes replace your old ones.' : 'Two-factor authentication is on.'}</Alert>
        <RecoveryCodesList codes={codes} account={account} />
        <button
          type="button"
          className={buttonClass('primary')}
          onClick={() => {
            setCodes(undefined);
            setEnrolment(undefined);
            router.refresh();
          }}
        >
          Done
        </button>
      </div>
    );
  }

  if (!status.totp.enabled) {
    return (
      <div className="space-y-4">
        {status.required && <Alert tone="info">Your provider requires two-factor authentication for your account.</Alert>}
        {banner}
        {enrolment ? (
          <TotpEnrolmentForm
            enrolment={enrolment}
            busy={busy}
            error={problem ? problemMessage(problem) : undefined}
            onConfirm={async (code) => {
              const r = await run<RecoveryCodes>('POST', '/me/2fa/totp/confirm', { code });
              if (r) setCodes(r.recoveryCodes);
            }}
          />
        ) : (
          <>
            <p className="text-sm text-slate-700">
              <Badge tone="slate">Off</Badge> Protect your account with a code from an authenticator app on your phone, asked after your password.
            </p>
            <button
              type="button"
              className={buttonClass('primary')}
              disabled={busy}
              onClick={async () => {
                const r = await run<TotpEnrolment>('POST', '/me/2fa/totp');
                if (r) setEnrolment(r);
              }}
            >
              Set up authenticator app
            </button>
          </>
        )}
      </div>
    );
  }

  return (
    <div className="space-y-4">
      <p className="text-sm text-slate-700">
        <Badge tone="green">On</Badge> Authenticator app since {formatDateTime(status.totp.confirmedAt)}. Recovery codes left: <strong>{status.recoveryCodesRemaining}</strong>
      </p>
      {banner}
      {notice && <Alert tone="success">{notice}</Alert>}
      <div className="flex flex-wrap gap-2">
        <button type="button" className={buttonClass('secondary', 'sm')} onClick={() => setPanel(panel === 'regenerate' ? undefined : 'regenerate')} aria-expanded={panel === 'regenerate'}>
          New recovery codes
        </button>
        <button type="button" className={buttonClass('danger', 'sm')} onClick={() => setPanel(panel === 'disable' ? undefined : 'disable')} aria-expanded={panel === 'disable'}>
          Turn off
        </button>
      </div>
      {panel === 'regenerate' && (
        <ProofForm
          id="regenerate-proof"
          action="Create new recovery codes"
          busy={busy}
          problem={problem}
          onSubmit={async (v) => {
            const r = await run<RecoveryCodes>('POST', '/me/2fa/recovery-codes', proofOf(v));
            if (r) setCodes(r.recoveryCodes);
          }}
        />
      )}
      {panel === 'disable' && (
        <ProofForm
          id="disable-proof"
          action="Turn off two-factor authentication"
          busy={busy}
          problem={problem}
          onSubmit={async (v) => {
            if ((await run('POST', '/me/2fa/totp/disable', proofOf(v))) !== undefined) {
              setPanel(undefined);
              router.refresh();
            }
          }}
        />
      )}
    </div>
  );
}
