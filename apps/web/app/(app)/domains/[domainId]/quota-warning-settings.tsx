'use client';
import { ApiForm, SubmitButton } from '@/components/api-form';
import { Card, TextField } from '@/components/ui';
import type { Domain } from '@/lib/types';
import { updateQuotaWarnings } from '../actions';

/** The domain's quota warning thresholds: when a delivery fills a mailbox past one, a warning goes into the mailbox. */
export function QuotaWarningSettings({ domain }: { domain: Domain }) {
  return (
    <Card
      id="quota-warnings"
      title="Quota warnings"
      description="When a delivery fills a mailbox past one of these percentages of its quota, a warning from postmaster is delivered into the mailbox once (it does not count against the quota). It is sent again after usage fell below the threshold."
    >
      <ApiForm action={updateQuotaWarnings.bind(null, domain.id)} className="max-w-xl space-y-4">
        {(f) => (
          <>
            <TextField
              id="quota-thresholds"
              label="Thresholds (percent)"
              optional
              hint="e.g. 80, 95. Empty: the server's default (usually 80 and 95)."
              error={f.errors.quotaWarningThresholds}
              name="quotaWarningThresholds"
              defaultValue={f.value('quotaWarningThresholds', domain.quotaWarningThresholds?.join(', ') ?? '')}
            />
            <SubmitButton pending={f.pending} label="Save thresholds" pendingLabel="Saving…" />
          </>
        )}
      </ApiForm>
    </Card>
  );
}
