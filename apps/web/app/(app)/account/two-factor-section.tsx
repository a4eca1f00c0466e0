'use client';
// Account page: two-factor authentication with an authenticator app (TOTP) and recovery codes.
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ApiForm, SubmitButton, type FormAction } from '@/components/api-form';
import { RecoveryCodesList } from '@/components/recovery-codes';
import { TotpEnrolmentForm } from '@/components/totp-enrolment';
import { Alert, Badge, buttonClass, TextField } from '@/components/ui';
import { problemMessage, useApi, type ClientProblem } from '@/lib/client';
import { formatDateTime } from '@/lib/format';
import type { TotpEnrolment, TwoFactorStatus } from '@/lib/types';
import { confirmTotp, disableTotp, regenerateRecoveryCodes } from './actions';

/** Asks for the password or a current code before a change to the second factors. */
function ProofForm<D>({
  id,
  label,
  action,
  onDone,
}: {
  id: string;
  label: string;
  action: FormAction<D>;
  onDone: (data: D | undefined) => void;
}) {
  return (
    <ApiForm<D> action={action} className="flex flex-wrap items-end gap-3" onAnswer={(s) => s.ok && onDone(s.data)}>
      {(f) => (
        <>
          <TextField
            id={id}
            label="Your password, or a code from your app"
            error={f.errors.proof}
            name="proof"
            type="password"
            autoComplete="current-password"
            required
          />
          <SubmitButton pending={f.pending} label={label} pendingLabel={label} variant="secondary" />
        </>
      )}
    </ApiForm>
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

  const banner = problem && !enrolment ? <Alert>{problemMessage(problem)}</Alert> : null;

  if (codes) {
    return (
      <div className="space-y-4">
        <Alert tone="success">
          {status.totp.enabled ? 'New recovery codes replace your old ones.' : 'Two-factor authentication is on.'}
        </Alert>
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
          <TotpEnrolmentForm enrolment={enrolment} action={confirmTotp} onDone={(d) => setCodes(d.codes)} />
        ) : (
          <>
            <p className="text-sm text-slate-700">
              <Badge tone="slate">Off</Badge> Protect your account with a code from an authenticator app on your phone, asked after your
              password.
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
        <Badge tone="green">On</Badge> Authenticator app since {formatDateTime(status.totp.confirmedAt)}. Recovery codes left:{' '}
        <strong>{status.recoveryCodesRemaining}</strong>
      </p>
      {banner}
      {notice && <Alert tone="success">{notice}</Alert>}
      <div className="flex flex-wrap gap-2">
        <button
          type="button"
          className={buttonClass('secondary', 'sm')}
          onClick={() => setPanel(panel === 'regenerate' ? undefined : 'regenerate')}
          aria-expanded={panel === 'regenerate'}
        >
          New recovery codes
        </button>
        <button
          type="button"
          className={buttonClass('danger', 'sm')}
          onClick={() => setPanel(panel === 'disable' ? undefined : 'disable')}
          aria-expanded={panel === 'disable'}
        >
          Turn off
        </button>
      </div>
      {panel === 'regenerate' && (
        <ProofForm<string[]>
          id="regenerate-proof"
          label="Create new recovery codes"
          action={regenerateRecoveryCodes}
          onDone={(c) => c && setCodes(c)}
        />
      )}
      {panel === 'disable' && (
        <ProofForm id="disable-proof" label="Turn off two-factor authentication" action={disableTotp} onDone={() => setPanel(undefined)} />
      )}
    </div>
  );
}
