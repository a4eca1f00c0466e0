/**
 * Two-step sign-in: pending-login challenges and the registry of second-factor kinds.
 *
 * After a right password, `login` (sessions.ts) asks `nextLoginStep`: an account with a primary factor (TOTP, passkey …)
 * gets a `second_factor` challenge and the methods it may use; an account the MAILROOM_REQUIRE_2FA policy covers but
 * that has no factor gets an `enrolment` challenge (only the enrolment endpoints accept it); anyone else gets a session
 * at once. A challenge is an opaque random token (only its SHA-256 is stored), lives CHALLENGE_TTL_MS, is bound to the
 * account and to the client it was issued to (address + user agent), is used at most once and dies after
 * MAX_CHALLENGE_FAILURES wrong answers.
 *
 * Contract for another factor kind (e.g. passkeys):
 * 1. Add a `SecondFactorKind` to SECOND_FACTOR_KINDS: `method` (the name listed in the login answer's `methods`),
 *    `primary` (true: having it makes sign-in ask for a second step; false: a backup such as recovery codes),
 *    `isEnrolled(db, account)` and `remove(db, account)` (used by the admin reset, which then ends every session).
 * 2. Read the pending login with `readLoginChallenge(deps, { challenge, purpose: 'second_factor', ip, userAgent })` if
 *    the factor needs the account to build its options (it validates, never consumes).
 * 3. Complete it with `completeLoginChallenge(deps, { challenge, ip, userAgent, previousToken, method, guess }, verify)`:
 *    `verify(account)` checks the factor's proof for that account and returns true or false. completeLoginChallenge
 *    throttles the attempt on the account (AuthThrottle schedule, key `2fa:acct:…`), consumes the challenge exactly once and creates
 *    the session with `createLoginSession` (login-session.ts), exactly like a password-only login; the caller sets the
 *    cookie from the LoginResult.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Prisma, PrismaClient } from '@mailroom/db';
import { AppError } from '../errors.ts';
import { sha256Hex } from './api-keys.ts';
import { accountKey } from './auth-throttle.ts';
import { createLoginSession, type LoginPrincipal, type LoginResult } from './login-session.ts';
import type { AuthDeps } from './sessions.ts';
import { panelMechanism, recordSecondFactorRefused } from './sign-in-log.ts';

type Db = PrismaClient | Prisma.TransactionClient;

export const TWO_FACTOR_POLICIES = ['off', 'admins', 'all'] as const;
/** MAILROOM_REQUIRE_2FA: nobody, admins, or every panel user (admins, owners, mailbox users) must use a second factor. */
export type TwoFactorPolicy = (typeof TWO_FACTOR_POLICIES)[number];

export const CHALLENGE_TTL_MS = 5 * 60_000;
export const MAX_CHALLENGE_FAILURES = 5;

export type ChallengePurpose = 'second_factor' | 'enrolment';

/** The account a factor belongs to: a panel user or a mailbox. */
export type FactorAccount = { kind: 'user'; userId: string } | { kind: 'mailbox'; mailboxId: string };

/** Prisma `where` for rows of one account (totp_factors, recovery_codes, login_challenges, and other factor tables). */
export function accountWhere(account: FactorAccount): { userId: string } | { mailboxId: string } {
  return account.kind === 'user' ? { userId: account.userId } : { mailboxId: account.mailboxId };
}

export function accountOf(principal: LoginPrincipal): FactorAccount {
  return principal.kind === 'user' ? { kind: 'user', userId: principal.userId } : { kind: 'mailbox', mailboxId: principal.mailboxId };
}

/** The login name of a principal: what the throttle keys on (the canonical account). */
export function loginNameOf(principal: LoginPrincipal): string {
  return principal.kind === 'user' ? principal.email : principal.address;
}

export interface SecondFactorKind {
  /** Listed in `methods` of the login answer, and accepted by the step that completes it. */
  method: string;
  /** True for a factor that makes sign-in ask for a second step; false for a backup (recovery codes). */
  primary: boolean;
  isEnrolled(db: Db, account: FactorAccount): Promise<boolean>;
  /** Removes every credential of this kind of the account (admin reset). */
  remove(db: Db, account: FactorAccount): Promise<number>;
}

/** Every factor kind, in the order methods are offered. Other kinds add themselves here (see the contract above). */
export const SECOND_FACTOR_KINDS: SecondFactorKind[] = [
  {
    method: 'totp',
    primary: true,
    isEnrolled: async (db, a) => (await db.totpFactor.count({ where: { ...accountWhere(a), confirmedAt: { not: null } } })) > 0,
    remove: async (db, a) => (await db.totpFactor.deleteMany({ where: accountWhere(a) })).count,
  },
  {
    // WebAuthn passkeys (services/passkeys.ts): panel users only.
    method: 'passkey',
    primary: true,
    isEnrolled: async (db, a) => a.kind === 'user' && (await db.passkey.count({ where: { userId: a.userId } })) > 0,
    remove: async (db, a) => (a.kind === 'user' ? (await db.passkey.deleteMany({ where: { userId: a.userId } })).count : 0),
  },
  {
    method: 'recovery',
    primary: false,
    isEnrolled: async (db, a) => (await db.recoveryCode.count({ where: { ...accountWhere(a), usedAt: null } })) > 0,
    remove: async (db, a) => (await db.recoveryCode.deleteMany({ where: accountWhere(a) })).count,
  },
];

export interface SecondFactorMethods {
  /** Every enrolled method (primary ones and backups). */
  methods: string[];
  /** True when at least one primary factor is enrolled (a backup alone is no second factor). */
  hasFactor: boolean;
}

/** The methods an account can complete a second step with, built from SECOND_FACTOR_KINDS. */
export async function listSecondFactorMethods(
  db: Db,
  account: FactorAccount,
  opts: { except?: string } = {},
): Promise<SecondFactorMethods> {
  const methods: string[] = [];
  let hasFactor = false;
  for (const kind of SECOND_FACTOR_KINDS) {
    if (kind.method === opts.except || !(await kind.isEnrolled(db, account))) continue;
    methods.push(kind.method);
    if (kind.primary) hasFactor = true;
  }
  return { methods: hasFactor ? methods : [], hasFactor };
}

/** Whether MAILROOM_REQUIRE_2FA covers this principal. */
export function policyRequiresSecondFactor(policy: TwoFactorPolicy | undefined, principal: LoginPrincipal): boolean {
  if (policy === 'all') return true;
  return policy === 'admins' && principal.kind === 'user' && principal.role === 'ADMIN';
}

function clientHash(secret: string, ip: string, userAgent: string | undefined): string {
  return createHmac('sha256', secret)
    .update('login-challenge\0')
    .update(ip)
    .update('\0')
    .update(userAgent ?? '')
    .digest('base64url');
}

export interface ChallengeClient {
  ip: string;
  userAgent?: string | undefined;
}

export interface IssuedChallenge {
  challenge: string;
  expiresAt: Date;
}

/** Issues a pending-login challenge for an account whose password was just verified. */
export async function issueLoginChallenge(
  deps: Pick<AuthDeps, 'prisma' | 'secret'>,
  input: ChallengeClient & { account: FactorAccount; purpose: ChallengePurpose; now?: Date },
): Promise<IssuedChallenge> {
  const now = input.now ?? new Date();
  const challenge = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + CHALLENGE_TTL_MS);
  // Housekeeping without a job: the account's finished challenges go when it gets a new one (issuing needs its password).
  await deps.prisma.loginChallenge.deleteMany({
    where: { ...accountWhere(input.account), OR: [{ expiresAt: { lte: now } }, { consumedAt: { not: null } }] },
  });
  await deps.prisma.loginChallenge.create({
    data: {
      tokenHash: sha256Hex(challenge),
      ...accountWhere(input.account),
      purpose: input.purpose,
      clientHash: clientHash(deps.secret, input.ip, input.userAgent),
      expiresAt,
    },
  });
  return { challenge, expiresAt };
}

export interface PendingLogin {
  id: string;
  account: FactorAccount;
  purpose: ChallengePurpose;
  expiresAt: Date;
}

const challengeInvalid = () =>
  new AppError('CHALLENGE_INVALID', 'The sign-in step expired or is not valid here; sign in with your password again');

/**
 * Validates a challenge without consuming it: known, for this step, unexpired, unused, issued to this client, and not
 * past its failures. Anything else is CHALLENGE_INVALID (one code for all, so nothing is revealed).
 */
export async function readLoginChallenge(
  deps: Pick<AuthDeps, 'prisma' | 'secret'>,
  input: ChallengeClient & { challenge: string; purpose: ChallengePurpose; now?: Date },
): Promise<PendingLogin> {
  const now = input.now ?? new Date();
  if (!input.challenge || input.challenge.length > 200) throw challengeInvalid();
  const row = await deps.prisma.loginChallenge.findUnique({ where: { tokenHash: sha256Hex(input.challenge) } });
  if (
    !row ||
    row.purpose !== input.purpose ||
    row.consumedAt ||
    row.expiresAt <= now ||
    row.failures >= MAX_CHALLENGE_FAILURES ||
    row.clientHash !== clientHash(deps.secret, input.ip, input.userAgent)
  ) {
    throw challengeInvalid();
  }
  const account: FactorAccount = row.userId ? { kind: 'user', userId: row.userId } : { kind: 'mailbox', mailboxId: row.mailboxId! };
  return { id: row.id, account, purpose: row.purpose as ChallengePurpose, expiresAt: row.expiresAt };
}

/** Uses a challenge up, atomically: of two concurrent completions only one wins; the other gets CHALLENGE_INVALID. */
export async function consumeLoginChallenge(prisma: Db, pending: PendingLogin, now = new Date()): Promise<void> {
  const { count } = await prisma.loginChallenge.updateMany({
    where: { id: pending.id, consumedAt: null, expiresAt: { gt: now }, failures: { lt: MAX_CHALLENGE_FAILURES } },
    data: { consumedAt: now },
  });
  if (count !== 1) throw challengeInvalid();
}

/** Counts a wrong answer against a challenge (MAX_CHALLENGE_FAILURES end it). */
export async function recordChallengeFailure(prisma: Db, pending: PendingLogin): Promise<void> {
  await prisma.loginChallenge.updateMany({ where: { id: pending.id }, data: { failures: { increment: 1 } } });
}

/**
 * The principal of an account, re-read at completion: a user disabled, or a mailbox (or its domain or owner) disabled
 * since the password step cannot complete sign-in.
 */
export async function loadLoginPrincipal(prisma: Db, account: FactorAccount): Promise<LoginPrincipal> {
  if (account.kind === 'user') {
    const u = await prisma.user.findUnique({
      where: { id: account.userId },
      select: { id: true, email: true, role: true, disabled: true },
    });
    if (!u) throw challengeInvalid();
    if (u.disabled) throw new AppError('ACCOUNT_DISABLED', 'This account is disabled');
    return { kind: 'user', userId: u.id, email: u.email, role: u.role };
  }
  const m = await prisma.mailbox.findUnique({
    where: { id: account.mailboxId },
    select: {
      id: true,
      localPart: true,
      domainId: true,
      enabled: true,
      domain: { select: { name: true, active: true, verifiedAt: true, owner: { select: { disabled: true } } } },
    },
  });
  if (!m) throw challengeInvalid();
  if (!m.enabled || !m.domain.active || !m.domain.verifiedAt || m.domain.owner.disabled)
    throw new AppError('MAILBOX_DISABLED', 'This mailbox is disabled');
  return { kind: 'mailbox', mailboxId: m.id, address: `${m.localPart}@${m.domain.name}`, domainId: m.domainId, sessionId: '' };
}

export type LoginStep =
  | ({ status: 'session' } & LoginResult)
  | { status: 'second_factor'; challenge: string; expiresAt: Date; methods: string[] }
  | { status: 'enrolment'; challenge: string; expiresAt: Date };

/** After a right password: a session, a second-factor challenge, or (policy, no factor yet) an enrolment challenge. */
export async function nextLoginStep(
  deps: AuthDeps,
  principal: LoginPrincipal,
  client: ChallengeClient & { previousToken?: string | undefined },
): Promise<LoginStep> {
  const account = accountOf(principal);
  const { methods, hasFactor } = await listSecondFactorMethods(deps.prisma, account);
  if (hasFactor) {
    const issued = await issueLoginChallenge(deps, { account, purpose: 'second_factor', ip: client.ip, userAgent: client.userAgent });
    return { status: 'second_factor', ...issued, methods };
  }
  if (policyRequiresSecondFactor(deps.twoFactorPolicy, principal)) {
    const issued = await issueLoginChallenge(deps, { account, purpose: 'enrolment', ip: client.ip, userAgent: client.userAgent });
    return { status: 'enrolment', ...issued };
  }
  const session = await createLoginSession(deps, {
    principal,
    ip: client.ip,
    userAgent: client.userAgent,
    previousToken: client.previousToken,
    method: 'password',
  });
  return { status: 'session', ...session };
}

/** THROTTLED with the seconds to wait (password and code attempts alike). */
export function throttledError(retryAfterSeconds: number): AppError {
  return new AppError('THROTTLED', `Too many failed sign-in attempts; try again in ${retryAfterSeconds} s`, {
    details: { retryAfterSeconds },
  });
}

export const secondFactorInvalid = () => new AppError('SECOND_FACTOR_INVALID', 'The code is wrong, expired or already used');

/** The throttle key of an account's second-factor codes: its own, so a right password never clears a code guesser's count. */
export function secondFactorThrottleKey(principal: LoginPrincipal): string {
  return `2fa:${accountKey(loginNameOf(principal))}`;
}

const sleepFor = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One attempt at a second factor of a known principal, through the AuthThrottle's schedule under the account's own
 * second-factor key (secondFactorThrottleKey): counted before it is verified, so a burst verifies no more than the
 * schedule allows, and a right password in between resets nothing. `guess` only fingerprints the attempt: the same
 * wrong answer repeated is not counted twice. True when `verify` accepted; THROTTLED past the allowance.
 */
export async function throttledFactorCheck(
  deps: Pick<AuthDeps, 'throttle' | 'throttleSleepMaxMs'>,
  input: { principal: LoginPrincipal; guess: string },
  verify: () => Promise<boolean>,
): Promise<boolean> {
  const key = secondFactorThrottleKey(input.principal);
  const reserved = await deps.throttle.reserve([key], deps.throttleSleepMaxMs);
  if (!reserved.ok) throw throttledError(reserved.retryAfterSeconds);
  if (reserved.waitMs > 0) await sleepFor(reserved.waitMs);
  let ok: boolean;
  try {
    ok = await verify();
  } catch (err) {
    await deps.throttle.release(reserved.turns).catch(() => undefined);
    throw err;
  }
  if (ok) await deps.throttle.recordSuccess(key);
  else await deps.throttle.recordFailure(reserved.turns, loginNameOf(input.principal), input.guess);
  return ok;
}

export interface CompleteChallengeInput extends ChallengeClient {
  challenge: string;
  previousToken?: string | undefined;
  /** The factor kind completing the step (`totp`, `recovery`, `passkey` …): must be enrolled, and is audited. */
  method: string;
  /** Fingerprint of the answer for the throttle (e.g. the code and its time step); never stored in clear. */
  guess: string;
}

/**
 * A refused second step in the account's sign-in log and its tenant's webhooks (recordSecondFactorRefused): someone
 * who knew the password. A method the log does not name is not logged (the schema admits only known ones).
 */
export async function logWrongSecondFactor(
  prisma: PrismaClient,
  account: FactorAccount,
  input: ChallengeClient & { method: string },
): Promise<void> {
  const mechanism = panelMechanism(input.method);
  if (mechanism && mechanism !== 'password')
    await recordSecondFactorRefused(prisma, account, { mechanism, ip: input.ip, userAgent: input.userAgent });
}

/**
 * Completes a `second_factor` challenge with one factor (see the contract at the top): validates the challenge,
 * checks the proof through the throttle, consumes the challenge once and creates the session. A wrong proof counts
 * against the challenge and the account and answers SECOND_FACTOR_INVALID.
 */
export async function completeLoginChallenge(
  deps: AuthDeps,
  input: CompleteChallengeInput,
  verify: (account: FactorAccount) => Promise<boolean>,
): Promise<LoginResult> {
  const pending = await readLoginChallenge(deps, { ...input, purpose: 'second_factor' });
  const principal = await loadLoginPrincipal(deps.prisma, pending.account);
  const { methods } = await listSecondFactorMethods(deps.prisma, pending.account);
  const ok =
    methods.includes(input.method) &&
    (await throttledFactorCheck(deps, { principal, guess: `${input.method}:${input.guess}` }, () => verify(pending.account)));
  if (!ok) {
    await recordChallengeFailure(deps.prisma, pending);
    await logWrongSecondFactor(deps.prisma, pending.account, input);
    throw secondFactorInvalid();
  }
  await consumeLoginChallenge(deps.prisma, pending);
  return createLoginSession(deps, {
    principal,
    ip: input.ip,
    userAgent: input.userAgent,
    previousToken: input.previousToken,
    method: input.method,
  });
}
