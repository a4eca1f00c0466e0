'use client';
// TOTP enrolment: the QR code and the secret to type, then a first code to confirm (Account page and sign-in enrolment).
import type { ReactNode } from 'react';
import { ApiForm, SubmitButton, type FormAction } from './api-form';
import { CopyList } from './copy-list';
import { TextField } from './ui';
import type { FormState } from '@/lib/forms';
import type { TotpEnrolment } from '@/lib/types';

/** What a confirmed enrolment answers: the recovery codes, and whose they are when the page does not know. */
export interface EnrolDone {
  codes: string[];
  account: string;
}

export function TotpEnrolmentForm({
  enrolment,
  action,
  onDone,
  onRefused,
  children,
}: {
  enrolment: TotpEnrolment;
  action: FormAction<EnrolDone>;
  onDone: (done: EnrolDone) => void;
  /** A refusal the page handles itself (a sign-in challenge that expired). */
  onRefused?: (state: FormState<EnrolDone>) => void;
  children?: ReactNode;
}) {
  return (
    <div className="space-y-4">
      <ol className="list-decimal space-y-1 pl-5 text-sm text-slate-700">
        <li>Open an authenticator app (for example Aegis, Google Authenticator, 1Password) and scan the QR code, or type the secret.</li>
        <li>Enter the 6-digit code the app shows.</li>
      </ol>
      {/* eslint-disable-next-line @next/next/no-img-element -- a data: URL the API generated: nothing for next/image to optimise */}
      <img
        src={enrolment.qrCodeDataUrl}
        alt="QR code to scan with your authenticator app"
        width={176}
        height={176}
        className="rounded-md ring-1 ring-slate-200"
      />
      <CopyList rows={[{ label: 'Secret', value: enrolment.secret, copy: 'secret' }]} labelClass="w-20" />
      <ApiForm<EnrolDone>
        action={action}
        className="space-y-3"
        onAnswer={(s) => (s.ok && s.data ? onDone(s.data) : s.ok === false && onRefused?.(s))}
      >
        {(f) => (
          <>
            {children}
            <TextField
              id="totp-confirm-code"
              label="Code from the app"
              error={f.errors.code}
              name="code"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9 ]{6,7}"
              maxLength={7}
              required
              className="max-w-40 font-mono tracking-widest"
            />
            <SubmitButton pending={f.pending} label="Turn on two-factor authentication" pendingLabel="Checking…" />
          </>
        )}
      </ApiForm>
    </div>
  );
}
