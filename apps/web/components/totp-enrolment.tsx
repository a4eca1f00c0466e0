'use client';
// TOTP enrolment: the QR code and the secret to type, then a first code to confirm (Account page and sign-in enrolment).
import { useState } from 'react';
import { Form } from './form';
import { CopyList } from './copy-list';
import { Alert, buttonClass, describedBy, Field, inputClass } from './ui';
import type { TotpEnrolment } from '@/lib/types';

export function TotpEnrolmentForm({
  enrolment,
  onConfirm,
  error,
  busy,
}: {
  enrolment: TotpEnrolment;
  /** Sends the code; the parent shows the outcome. */
  onConfirm: (code: string) => void;
  error?: string | undefined;
  busy: boolean;
}) {
  const [code, setCode] = useState('');
  return (
    <div className="space-y-4">
      <ol className="list-decimal space-y-1 pl-5 text-sm text-slate-700">
        <li>Open an authenticator app (for example Aegis, Google Authenticator, 1Password) and scan the QR code, or type the secret.</li>
        <li>Enter the 6-digit code the app shows.</li>
      </ol>
      {/* eslint-disable-next-line @next/next/no-img-element -- a data: URL the API generated: nothing for next/image to optimise */}
      <img src={enrolment.qrCodeDataUrl} alt="QR code to scan with your authenticator app" width={176} height={176} className="rounded-md ring-1 ring-slate-200" />
      <CopyList rows={[{ label: 'Secret', value: enrolment.secret, copy: 'secret' }]} labelClass="w-20" />
      <Form
        onSubmit={(e) => {
          e.preventDefault();
          if (code.trim()) onConfirm(code.trim());
        }}
        className="space-y-3"
      >
        {error && <Alert>{error}</Alert>}
        <Field id="totp-confirm-code" label="Code from the app" error={undefined}>
          <input
            id="totp-confirm-code"
            name="code"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9 ]{6,7}"
            maxLength={7}
            required
            value={code}
            onChange={(e) => setCode(e.target.value)}
            className={inputClass + ' max-w-40 font-mono tracking-widest'}
            {...describedBy('totp-confirm-code')}
          />
        </Field>
        <button type="submit" className={buttonClass('primary')} disabled={busy || code.trim().length < 6}>
          {busy ? 'Checking…' : 'Turn on two-factor authentication'}
        </button>
      </Form>
    </div>
  );
}
