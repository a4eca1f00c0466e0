'use client';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { Alert, Card, RadioGroup } from '@/components/ui';
import { formatDateTime } from '@/lib/format';
import type { DomainMtaSts } from '@/lib/types';
import { updateMtaSts } from '../actions';

function days(seconds: number): string {
  const d = Math.round(seconds / 86_400);
  return `${d} day${d === 1 ? '' : 's'}`;
}

/**
 * MTA-STS (RFC 8461): whether senders must use TLS for mail to the domain. Testing first (senders report, still
 * deliver), then enforce; leaving a published policy goes through "withdraw" (mode none) until senders' caches expire.
 */
export function MtaStsSettings({ sts }: { sts: DomainMtaSts }) {
  const current = sts.mode ?? 'off';
  const until = sts.previousPolicyCachedUntil ? formatDateTime(sts.previousPolicyCachedUntil) : null;
  const choices: [string, string][] = [];
  // an enforced policy is left through "withdraw": senders keep it for max_age otherwise
  if (sts.mode !== 'enforce') choices.push(['off', 'Not published']);
  choices.push(['testing', 'Testing: senders that support MTA-STS report TLS problems to the TLS reporting address but still deliver']);
  choices.push(['enforce', 'Enforce: they deliver only over TLS, with a valid certificate, to this server']);
  if (sts.mode !== null) choices.push(['none', 'Withdraw: tells senders to forget the policy; stop publishing once their copies expire']);
  return (
    <Card
      id="mta-sts"
      title="Encrypted delivery (MTA-STS)"
      description={`MTA-STS tells sending mail servers (Gmail, Outlook.com and others) that mail to ${sts.domain} must reach this server over TLS with a valid certificate, so nobody on the way can read it or divert it by stripping the encryption. Start in testing mode: senders then mail daily TLS reports to postmaster and deliver as before. Switch to enforce once the reports are clean. Senders keep the policy for ${days(sts.maxAgeSeconds)}.`}
    >
      <div className="max-w-2xl space-y-4">
        {sts.mode === 'none' && (
          <Alert tone="info">
            The policy is being withdrawn. Publish the new id in the _mta-sts record (DNS records) so that senders fetch the withdrawal;
            they may keep the previous policy until {until}. After that, choose Not published and remove the MTA-STS records.
          </Alert>
        )}
        {sts.mode !== null && !sts.served && (
          <Alert tone="info">Not served yet: the policy is answered once the domain is verified and active.</Alert>
        )}
        <ApiForm action={updateMtaSts.bind(null, sts.domainId)} className="space-y-4">
          {(f) => (
            <>
              <RadioGroup
                legend={`MTA-STS for ${sts.domain}`}
                name="mode"
                choices={choices}
                value={f.value('mode', current)}
                error={f.errors.mode}
              />
              <p className="text-xs text-slate-600">
                Enforce is accepted only while every MX record of the domain names this server: senders would refuse to deliver to any
                other, a backup MX included.
              </p>
              <SubmitButton pending={f.pending} label="Save MTA-STS" pendingLabel="Saving…" />
            </>
          )}
        </ApiForm>
        {sts.policy && (
          <div className="text-sm text-slate-700">
            <p>
              Served at <span className="font-mono break-all">{sts.policyUrl}</span>
              {sts.served ? '' : ' (once the domain is verified and active)'}:
            </p>
            <pre data-testid="mta-sts-policy" className="mt-2 overflow-x-auto rounded-md bg-slate-50 p-3 font-mono text-xs text-slate-900">
              {sts.policy}
            </pre>
            <p className="mt-2">
              Its host <span className="font-mono">mta-sts.{sts.domain}</span> must reach this panel over HTTPS with a certificate for that
              name; the DNS records card lists it with the policy&apos;s TXT record and a TLS reporting address.
            </p>
          </div>
        )}
      </div>
    </Card>
  );
}
