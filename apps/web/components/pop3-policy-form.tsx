'use client';
import { useState } from 'react';
import { updatePop3Policy } from '@/app/(app)/actions';
import { ApiForm, SubmitButton } from './api-form';
import { Card, RadioGroup, TextField } from './ui';
import { MAX_LOGIN_DELAY_SECONDS, wholeNumber } from '@/lib/validation';

type RetentionMode = 'inherit' | 'never' | 'retrieved' | 'days';

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
  const [delay, setDelay] = useState(loginDelaySeconds?.toString() ?? '');
  const initialMode: RetentionMode =
    retentionDays === null ? 'inherit' : retentionDays === 'never' ? 'never' : retentionDays === 0 ? 'retrieved' : 'days';
  const inherited = kind === 'mailbox' ? "the domain's setting" : "the server's default";
  const prefix = `${kind}-pop3`;
  const delayLive =
    delay.trim() === '' || wholeNumber(delay, MAX_LOGIN_DELAY_SECONDS) !== undefined
      ? undefined
      : `Whole seconds from 0 to ${MAX_LOGIN_DELAY_SECONDS}, or empty to use ${inherited}.`;
  const modes: [RetentionMode, string][] = [
    ['inherit', `Inherit ${inherited}`],
    ['never', 'Keep until a mail client deletes it (EXPIRE NEVER)'],
    ['retrieved', 'Delete each message once a mail client has downloaded it (EXPIRE 0)'],
    ['days', 'Delete messages older than a number of days'],
  ];

  return (
    <Card
      id={prefix}
      title="POP3 policy"
      description={`How often mail clients may sign in and how long mail may stay on the server (RFC 2449 LOGIN-DELAY and EXPIRE). Empty or “inherit” uses ${inherited}.`}
    >
      <ApiForm action={updatePop3Policy.bind(null, kind, id)} className="group max-w-xl space-y-4">
        {(f) => {
          const delayError = f.errors.loginDelaySeconds ?? delayLive;
          const mode = f.value('mode', initialMode);
          return (
            <>
              <TextField
                id={`${prefix}-delay`}
                label="Minimum time between logins (seconds)"
                optional
                hint={`e.g. 300 for 5 minutes; 0 for none; empty: ${inherited}.`}
                error={delayError}
                name="loginDelaySeconds"
                inputMode="numeric"
                defaultValue={f.value('loginDelaySeconds', loginDelaySeconds?.toString() ?? '')}
                onChange={(e) => setDelay(e.target.value)}
              />
              <RadioGroup
                legend="Keep mail on the server"
                name="mode"
                choices={modes}
                value={mode}
                optionClass={(v) => v === 'days' && 'retention-days'}
              />
              {/* shown by CSS while "days" is chosen, so it works before hydration too */}
              <div className="hidden group-has-[.retention-days:checked]:block">
                <TextField
                  id={`${prefix}-days`}
                  label="Days to keep messages"
                  error={f.errors.retentionDays}
                  name="retentionDays"
                  inputMode="numeric"
                  defaultValue={f.value(
                    'retentionDays',
                    typeof retentionDays === 'number' && retentionDays > 0 ? String(retentionDays) : '30',
                  )}
                />
              </div>
              <SubmitButton pending={f.pending} label="Save POP3 policy" pendingLabel="Saving…" />
            </>
          );
        }}
      </ApiForm>
    </Card>
  );
}
