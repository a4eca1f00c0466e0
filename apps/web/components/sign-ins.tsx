import { DayRangeInputs, FilteredList, FilterSelect, utcDay } from '@/components/filter-fields';
import { Badge, ButtonLink, Card, EmptyState, ListTable } from '@/components/ui';
import { apiGet, apiGetFiltered } from '@/lib/api';
import { formatDateTime } from '@/lib/format';
import type { MailboxSignIn, Page } from '@/lib/types';

/** The sign-in log's filters as the panel's query string carries them (dates are UTC days). */
export type SignInFilters = { result?: string; service?: string; from?: string; to?: string; cursor?: string };

/**
 * Each result in words. Red: a wrong password (someone without it); amber: the password was right but something else
 * refused or interrupted the sign-in.
 */
const RESULTS: Record<MailboxSignIn['result'], { label: string; tone: 'green' | 'amber' | 'red' }> = {
  ok: { label: 'Signed in', tone: 'green' },
  second_factor: { label: 'Second factor asked', tone: 'amber' },
  wrong_password: { label: 'Wrong password', tone: 'red' },
  disabled: { label: 'Account disabled', tone: 'amber' },
  app_password_required: { label: 'App password required', tone: 'amber' },
  login_delay: { label: 'Too soon (LOGIN-DELAY)', tone: 'amber' },
  in_use: { label: 'Mailbox in use', tone: 'amber' },
};

const RESULT_OPTIONS = [
  { value: 'failed', label: 'Failed (any refusal)' },
  ...Object.entries(RESULTS).map(([value, { label }]) => ({ value, label })),
];

const SERVICE_OPTIONS = [
  { value: 'pop3', label: 'POP3' },
  { value: 'panel', label: 'Panel' },
];

const signInsApiPath = (mailboxId: string) => `/mailboxes/${encodeURIComponent(mailboxId)}/sign-ins`;

function how(s: MailboxSignIn): { service: string; mechanism?: string } {
  if (s.service === 'panel') return { service: 'Panel' };
  const mechanism = s.mechanism === 'PLAIN' ? 'AUTH PLAIN' : (s.mechanism ?? undefined);
  return { service: s.tls === null ? 'POP3' : s.tls ? 'POP3 over TLS' : 'POP3 without TLS', mechanism };
}

/** Sign-in attempts, newest first: when (identical ones within a day counted in one row), with what result, how and from where. */
export function SignInsTable({ signIns, caption }: { signIns: MailboxSignIn[]; caption: string }) {
  return (
    <ListTable caption={caption} columns={['When', 'Result', 'How', 'From']}>
      <tbody className="divide-y divide-slate-100 align-top">
        {signIns.map((s) => {
          const { label, tone } = RESULTS[s.result];
          const { service, mechanism } = how(s);
          return (
            <tr key={s.id}>
              <td className="px-4 py-2 whitespace-nowrap text-slate-700 sm:px-6">
                {formatDateTime(s.createdAt)}
                {s.attempts > 1 && (
                  <span className="block text-xs text-slate-600">
                    {s.attempts} times, the last {formatDateTime(s.lastAt)}
                  </span>
                )}
              </td>
              <td className="px-4 py-2">
                <Badge tone={tone}>{label}</Badge>
              </td>
              <td className="px-4 py-2 text-slate-700">
                {service}
                {mechanism && <span className="block text-xs text-slate-600">{mechanism}</span>}
                {s.appPasswordName !== null && <span className="block text-xs text-slate-600">App password “{s.appPasswordName}”</span>}
              </td>
              <td className="px-4 py-2 break-all text-slate-700">{s.clientAddress}</td>
            </tr>
          );
        })}
      </tbody>
    </ListTable>
  );
}

/** A mailbox's full sign-in log (its own page): filters, attempts, cursor pages. */
export async function SignInsView({ mailboxId, basePath, filters: f }: { mailboxId: string; basePath: string; filters: SignInFilters }) {
  const { answer, page } = await apiGetFiltered<MailboxSignIn>(signInsApiPath(mailboxId), {
    limit: 50,
    cursor: f.cursor,
    result: f.result,
    service: f.service,
    from: utcDay(f.from),
    to: utcDay(f.to, 1),
  });
  return (
    <FilteredList
      basePath={basePath}
      fields={
        <>
          <FilterSelect id="si-result" label="Result" name="result" value={f.result} options={RESULT_OPTIONS} />
          <FilterSelect id="si-service" label="Service" name="service" value={f.service} options={SERVICE_OPTIONS} />
          <DayRangeInputs idPrefix="si-" from={f.from} to={f.to} />
        </>
      }
      title="Sign-ins"
      answer={answer}
      page={page}
      params={{ result: f.result, service: f.service, from: f.from, to: f.to }}
      cursor={f.cursor}
      empty={{
        noun: 'sign-ins',
        title: 'No sign-ins yet',
        hint: 'Every sign-in to this mailbox over POP3 or the panel appears here, and every attempt refused.',
      }}
    >
      <SignInsTable signIns={page.items} caption="Sign-in activity, newest first" />
    </FilteredList>
  );
}

/** A section on the mailbox page and the mailbox user's home: the latest sign-ins and the way to the full log. */
export async function RecentSignIns({ mailboxId, logPath, what }: { mailboxId: string; logPath: string; what: string }) {
  const page = await apiGet<Page<MailboxSignIn>>(`${signInsApiPath(mailboxId)}?limit=5`);
  return (
    <Card
      id="sign-ins"
      title="Sign-in activity"
      description={`The latest sign-ins to ${what} over POP3 and the panel, and the attempts refused. A wrong password from an address you do not know means someone is guessing it: keep the password strong, or give mail apps app passwords.`}
      actions={
        <ButtonLink href={logPath} variant="secondary" size="sm">
          All sign-ins
        </ButtonLink>
      }
    >
      {page.items.length === 0 ? (
        <EmptyState title="No sign-ins yet">Sign-ins over POP3 and the panel, and refused attempts, appear here.</EmptyState>
      ) : (
        <SignInsTable signIns={page.items} caption="Latest sign-ins, newest first" />
      )}
    </Card>
  );
}
