'use client';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { Card, RadioGroup } from '@/components/ui';
import type { Domain } from '@/lib/types';
import { updateGreylisting } from '../actions';

const CHOICES = [
  ['default', 'The server’s default (set by the hosting operator)'],
  ['on', 'On: a new sender’s first attempt is deferred; real mail servers retry and get through'],
  ['off', 'Off: accept mail from new senders at once'],
] as const;

/** The domain's greylisting switch: on, off, or the operator's default (INGRESS_GREYLIST). */
export function GreylistingSettings({ domain }: { domain: Domain }) {
  const current = domain.greylisting === null ? 'default' : domain.greylisting ? 'on' : 'off';
  return (
    <Card
      id="greylisting"
      title="Greylisting"
      description="Greylisting turns away much spam: mail from a sender this server has not seen before is deferred with a temporary error, and is accepted when the sending server tries again after a few minutes, as real mail servers do. The cost is that a new sender’s first message arrives that much later (one-time codes, order confirmations). Senders that pass SPF are not delayed unless the operator changed that."
    >
      <ApiForm action={updateGreylisting.bind(null, domain.id)} className="max-w-xl space-y-4">
        {(f) => (
          <>
            <RadioGroup
              legend={`Greylist mail to ${domain.name}`}
              name="greylisting"
              choices={CHOICES}
              value={f.value('greylisting', current)}
              error={f.errors.greylisting}
            />
            <SubmitButton pending={f.pending} label="Save greylisting" pendingLabel="Saving…" />
          </>
        )}
      </ApiForm>
    </Card>
  );
}
