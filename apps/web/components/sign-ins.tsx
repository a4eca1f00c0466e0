import type { ReactNode } from 'react';
import { DayRangeInputs, FilteredList, FilterSelect, utcDay } from '@/components/filter-fields';
import { Alert, Badge, ButtonLink, Card, EmptyState, ListTable } from '@/components/ui';
import { apiGet, apiGetFiltered, qs } from '@/lib/api';
import { formatDateTime } from '@/lib/format';
import type { MailboxSignIn, Page, UserSignIn } from '@/lib/types';
import { PASSWORD_WARNING_DAYS } from '@mailroom/core/schemas';

/** The sign-in log's filters as the panel's query string carries them (dates are UTC days; `service`: a mailbox's log). */
export type SignInFilters = { result?: string; service?: string; from?: string; to?: string; cursor?: string };

type SignInResult = MailboxSignIn['result'];
/** An entry of either log: a mailbox's (POP3 and panel) or a panel user's (admin or owner). */
type SignIn = MailboxSignIn | UserSignIn;

/**
 * Each result in words. Red: someone without the password (a wrong one), or with it but without the second step (a
 * wrong code, a refused passkey); amber: the password was right but something else refused or interrupted the sign-in.
 */
const RESULTS: Record<SignInResult, { label: string; tone: 'green' | 'amber' | 'red' }> = {
  ok: { label: 'Signed in', tone: 'green' },
  second_factor: { label: 'Second factor asked', tone: 'amber' },
  wrong_password: { label: 'Wrong password', tone: 'red' },
  wrong_second_factor: { label: 'Right password, wrong code', tone: 'red' },
  passkey_refused: { label: 'Passkey refused', tone: 'red' },
  disabled: { label: 'Account disabled', tone: 'amber' },
  app_password_required: { label: 'App password required', tone: 'amber' },
  login_delay: { label: 'Too soon (LOGIN-DELAY)', tone: 'amber' },
  in_use: { label: 'Mailbox in use', tone: 'amber' },
};

/** A panel sign-in step in words. */
const MECHANISMS: Record<UserSignIn['mechanism'], string> = {
  password: 'Password',
  passkey: 'Passkey',
  totp: 'Authenticator code',
  recovery: 'Recovery code',
};

function result(s: SignIn): { label: string; tone: 'green' | 'amber' | 'red' } {
  // A refused passkey as the second step is no "wrong code": say what it was.
  if (s.result === 'wrong_second_factor' && s.mechanism === 'passkey') return { label: 'Right password, passkey refused', tone: 'red' };
  return RESULTS[s.result];
}

/** The "How" column: the service (a mailbox's log), then the step or POP3 mechanism, the app password, the browser. */
function how(s: SignIn): string[] {
  if (!('service' in s)) return [MECHANISMS[s.mechanism], s.device ?? ''];
  if (s.service === 'panel') return ['Panel', MECHANISMS[s.mechanism as UserSignIn['mechanism']] ?? s.mechanism ?? '', s.device ?? ''];
  return [
    s.tls === null ? 'POP3' : s.tls ? 'POP3 over TLS' : 'POP3 without TLS',
    s.mechanism === 'PLAIN' ? 'AUTH PLAIN' : (s.mechanism ?? ''),
    s.appPasswordName === null ? '' : `App password “${s.appPasswordName}”`,
  ];
}

/** Sign-in attempts, newest first: when (identical ones within a day counted in one row), with what result, how and from where. */
export function SignInsTable({ signIns, caption }: { signIns: SignIn[]; caption: string }) {
  return (
    <ListTable caption={caption} columns={['When', 'Result', 'How', 'From']}>
      <tbody className="divide-y divide-slate-100 align-top">
        {signIns.map((s) => {
          const { label, tone } = result(s);
          const [first, ...details] = how(s);
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
                {first}
                {details.filter(Boolean).map((d, i) => (
                  <span key={i} className="block text-xs text-slate-600">
                    {d}
                  </span>
                ))}
              </td>
              <td className="px-4 py-2 break-all text-slate-700">{s.clientAddress}</td>
            </tr>
          );
        })}
      </tbody>
    </ListTable>
  );
}

/** Which sign-in log a view shows: where the API serves it, the filters it offers and the words around it. */
export interface SignInLog {
  apiPath: string;
  /** The Service filter (POP3 or the panel): a mailbox's log. */
  services: boolean;
  /** The results it can hold, for the Result filter. */
  results: readonly SignInResult[];
  /** The recent card's description. */
  description: string;
  /** The empty state's hint. */
  empty: string;
  /** With it, the recent card warns of a recent `wrong_second_factor` (someone knows the password) in these words. */
  warning?: (s: SignIn) => ReactNode;
}

const POP3_ONLY: readonly SignInResult[] = ['app_password_required', 'login_delay', 'in_use'];
const ALL_RESULTS = Object.keys(RESULTS) as SignInResult[];

/** A mailbox's log: POP3 and the panel (mailbox users have no passkeys). */
export function mailboxSignInLog(mailboxId: string, address: string): SignInLog {
  return {
    apiPath: `/mailboxes/${encodeURIComponent(mailboxId)}/sign-ins`,
    services: true,
    results: ALL_RESULTS.filter((r) => r !== 'passkey_refused'),
    description: `The latest sign-ins to ${address} over POP3 and the panel, and the attempts refused. A wrong password from an address you do not know means someone is guessing it: keep the password strong, or give mail apps app passwords.`,
    empty: 'Every sign-in to this mailbox over POP3 or the panel appears here, and every attempt refused.',
    warning: (s) => (
      <>
        <strong className="font-semibold">Someone entered the password of {address}, but not its second factor</strong>, on{' '}
        {whenAndWhere(s)}. If that was not the mailbox&apos;s user, the password is known: change it, and the mail apps&apos; too.
      </>
    ),
  };
}

const USER_RESULTS = ALL_RESULTS.filter((r) => !POP3_ONLY.includes(r));

/** When and where a sign-in happened, for a warning. */
const whenAndWhere = (s: SignIn) => `${formatDateTime(s.lastAt)} from ${s.clientAddress}${s.device ? ` (${s.device})` : ''}`;

/** The signed-in admin's or owner's own panel sign-ins (Account page). */
export const ownSignInLog: SignInLog = {
  apiPath: '/auth/sign-ins',
  services: false,
  results: USER_RESULTS,
  description:
    'The latest sign-ins to your account, and the attempts refused: how (password, passkey, code), the browser and the address. A wrong password from an address you do not know means someone is guessing it.',
  empty: 'Every sign-in to your account appears here, and every attempt refused.',
  warning: (s) => (
    <>
      <strong className="font-semibold">Someone entered your password, but not your second factor</strong>, on {whenAndWhere(s)}. If that
      was not you, your password is known:{' '}
      <a href="#password" className="font-semibold underline">
        change your password
      </a>{' '}
      now.
    </>
  ),
};

/** An owner's panel sign-ins, for admins (owner page). */
export function ownerSignInLog(ownerId: string): SignInLog {
  return {
    apiPath: `/owners/${encodeURIComponent(ownerId)}/sign-ins`,
    services: false,
    results: USER_RESULTS,
    description:
      "The owner's latest panel sign-ins and the attempts refused, to help an owner who cannot sign in: a wrong password, a wrong code, a disabled account.",
    empty: "Every sign-in to this owner's account appears here, and every attempt refused.",
    warning: (s) => (
      <>
        <strong className="font-semibold">Someone entered this owner&apos;s password, but not their second factor</strong>, on{' '}
        {whenAndWhere(s)}. If it was not them, their password is known: ask them to change it.
      </>
    ),
  };
}

/** A log's full page: filters (result or failed, service on a mailbox's log, days), attempts, cursor pages. */
export async function SignInsView({ log, basePath, filters: f }: { log: SignInLog; basePath: string; filters: SignInFilters }) {
  const service = log.services ? f.service : undefined;
  const { answer, page } = await apiGetFiltered<SignIn>(log.apiPath, {
    limit: 50,
    cursor: f.cursor,
    result: f.result,
    service,
    from: utcDay(f.from),
    to: utcDay(f.to, 1),
  });
  const resultOptions = [
    { value: 'failed', label: 'Failed (any refusal)' },
    ...log.results.map((value) => ({ value, label: RESULTS[value].label })),
  ];
  return (
    <FilteredList
      basePath={basePath}
      fields={
        <>
          <FilterSelect id="si-result" label="Result" name="result" value={f.result} options={resultOptions} />
          {log.services && (
            <FilterSelect
              id="si-service"
              label="Service"
              name="service"
              value={service}
              options={[
                { value: 'pop3', label: 'POP3' },
                { value: 'panel', label: 'Panel' },
              ]}
            />
          )}
          <DayRangeInputs idPrefix="si-" from={f.from} to={f.to} />
        </>
      }
      title="Sign-ins"
      answer={answer}
      page={page}
      params={{ result: f.result, service, from: f.from, to: f.to }}
      cursor={f.cursor}
      empty={{ noun: 'sign-ins', title: 'No sign-ins yet', hint: log.empty }}
    >
      <SignInsTable signIns={page.items} caption="Sign-in activity, newest first" />
    </FilteredList>
  );
}

/**
 * The log's latest `wrong_second_factor` (someone knew the password) of the last PASSWORD_WARNING_DAYS days and since
 * the password last changed, if any: one before the change is no longer a threat (as GET /password-warnings).
 */
async function latestWrongSecondFactor(apiPath: string, passwordChangedAt: string | null | undefined): Promise<SignIn | undefined> {
  const since = Math.max(Date.now() - PASSWORD_WARNING_DAYS * 86_400_000, passwordChangedAt ? Date.parse(passwordChangedAt) : 0);
  const lastAfter = new Date(since).toISOString();
  return (await apiGet<Page<SignIn>>(`${apiPath}${qs({ result: 'wrong_second_factor', lastAfter, limit: 1 })}`)).items[0];
}

/**
 * A log's card (a mailbox's page and the mailbox user's home; the Account page; an owner's page for admins): the latest
 * sign-ins and the way to the full log; with the log's `warning`, a wrong second factor of the last 30 days (and since
 * the account's password last changed, `passwordChangedAt`) above them.
 */
export async function RecentSignIns({
  log,
  logPath,
  passwordChangedAt,
}: {
  log: SignInLog;
  logPath?: string;
  passwordChangedAt?: string | null;
}) {
  const [page, knownPassword] = await Promise.all([
    apiGet<Page<SignIn>>(`${log.apiPath}?limit=5`),
    log.warning && latestWrongSecondFactor(log.apiPath, passwordChangedAt),
  ]);
  return (
    <Card
      id="sign-ins"
      title="Sign-in activity"
      description={log.description}
      actions={
        logPath && (
          <ButtonLink href={logPath} variant="secondary" size="sm">
            All sign-ins
          </ButtonLink>
        )
      }
    >
      {knownPassword && log.warning && (
        <div className="mb-4">
          <Alert>{log.warning(knownPassword)}</Alert>
        </div>
      )}
      {page.items.length === 0 ? (
        <EmptyState title="No sign-ins yet">{log.empty}</EmptyState>
      ) : (
        <SignInsTable signIns={page.items} caption="Latest sign-ins, newest first" />
      )}
    </Card>
  );
}
