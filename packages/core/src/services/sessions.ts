import { timingSafeEqual } from 'node:crypto';
import type { PrismaClient } from '@mailroom/db';
import { AppError } from '../errors.ts';
import type { PasswordHasher } from '../password.ts';
import type { ChangeOwnPasswordBody, Me } from '../schemas/auth.ts';
import { recordAudit } from './audit.ts';
import type { AuthThrottle, PasswordCheck } from './auth-throttle.ts';
import { authenticateMailbox } from './mailbox-auth.ts';
import { recordPanelSignIn, type PanelSignInAccount } from './sign-in-log.ts';
import { revokeUserApiKeys, sha256Hex } from './api-keys.ts';
import { assertPasswordPolicy, type PasswordPolicy } from './password-policy.ts';
import type { Actor, MailboxPrincipal, Principal, UserPrincipal } from './principal.ts';
import { iso, toNumber } from './shared.ts';
import { nextLoginStep, throttledError, type LoginStep, type TwoFactorPolicy } from './second-factor.ts';
import type { LoginPrincipal } from './login-session.ts';

export { createLoginSession, csrfTokenFor, type LoginResult, type LoginPrincipal } from './login-session.ts';
import { tenantUsage } from './users.ts';

export interface AuthDeps {
  prisma: PrismaClient;
  hasher: PasswordHasher;
  throttle: AuthThrottle;
  passwordPolicy: PasswordPolicy;
  /** Server secret: derives each session's CSRF token from its cookie token. */
  secret: string;
  sessionTtlMs: number;
  /** Throttle turns up to this far ahead are waited for; later ones are refused with THROTTLED + Retry-After. */
  throttleSleepMaxMs: number;
  /** MAILROOM_REQUIRE_2FA (default off): who must have a second factor to sign in. */
  twoFactorPolicy?: TwoFactorPolicy;
  /** Issuer shown by authenticator apps for TOTP enrolments (default "Mailroom"). */
  totpIssuer?: string;
}

export interface LoginInput {
  email: string;
  password: string;
  ip: string;
  userAgent?: string | undefined;
  /** Token of a session cookie the browser still sent: replaced, never reused (no session fixation). */
  previousToken?: string | undefined;
}

export function checkCsrf(csrfHash: string, presented: string | undefined): boolean {
  if (!presented || presented.length > 200) return false;
  const a = Buffer.from(csrfHash, 'hex');
  const b = Buffer.from(sha256Hex(presented), 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

const INVALID = () => new AppError('INVALID_CREDENTIALS', 'Invalid email or password');

/**
 * Signs in a panel user (admin/owner) or a mailbox user (full address). Unknown accounts and wrong passwords get the
 * same INVALID_CREDENTIALS reply after the same argon2 work. Every attempt is counted before it is verified, per
 * network and per canonical account (AuthThrottle.attempt): turns within `throttleSleepMaxMs` are waited for, later
 * ones refused with THROTTLED and the seconds to wait. After the password, `nextLoginStep` (second-factor.ts) decides:
 * a session, a second-factor challenge, or an enrolment challenge (MAILROOM_REQUIRE_2FA).
 */
export async function login(deps: AuthDeps, input: LoginInput): Promise<LoginStep> {
  const attempt = await deps.throttle.attempt(
    { ip: input.ip, login: input.email, password: input.password, maxWaitMs: deps.throttleSleepMaxMs },
    async (account): Promise<PasswordCheck<LoginPrincipal | undefined>> => {
      const user = await deps.prisma.user.findUnique({
        where: { email: account },
        select: { id: true, email: true, role: true, disabled: true, passwordHash: true },
      });
      if (user) {
        const who = { kind: 'user', userId: user.id } as const;
        const { ok, needsRehash } = await deps.hasher.verify(user.passwordHash, input.password);
        if (!ok) {
          logWrongPassword(deps, who, input);
          return { passwordOk: false, value: undefined };
        }
        if (user.disabled) {
          await logPasswordStep(deps, who, 'disabled', input);
          throw new AppError('ACCOUNT_DISABLED', 'This account is disabled');
        }
        // Re-hashing is best effort: a busy hasher must not turn a right password into a failed login.
        const passwordHash = needsRehash ? await deps.hasher.hash(input.password).catch(() => undefined) : undefined;
        await deps.prisma.user.update({ where: { id: user.id }, data: { lastLoginAt: new Date(), passwordHash } });
        return { passwordOk: true, value: { kind: 'user', userId: user.id, email: user.email, role: user.role } };
      }
      const result = await authenticateMailbox(deps.prisma, deps.hasher, account, input.password);
      if (result.status === 'disabled') {
        await logPasswordStep(deps, { kind: 'mailbox', mailboxId: result.mailboxId }, 'disabled', input);
        throw new AppError('MAILBOX_DISABLED', 'This mailbox is disabled');
      }
      if (result.status !== 'ok') {
        if (result.mailboxId) logWrongPassword(deps, { kind: 'mailbox', mailboxId: result.mailboxId }, input);
        return { passwordOk: false, value: undefined };
      }
      const m = result.mailbox;
      return { passwordOk: true, value: { kind: 'mailbox', mailboxId: m.id, address: m.address, domainId: m.domainId, sessionId: '' } };
    },
  );
  if (attempt.status === 'throttled') throw throttledError(attempt.retryAfterSeconds);
  const principal = attempt.status === 'ok' ? attempt.value : undefined;
  if (!principal) throw INVALID();
  const step = await nextLoginStep(deps, principal, { ip: input.ip, userAgent: input.userAgent, previousToken: input.previousToken });
  // A session logged itself as `ok` (createLoginSession); a second step asked next is logged here.
  if (step.status !== 'session') await logPasswordStep(deps, principal, 'second_factor', input);
  return step;
}

/** The password step of a panel sign-in, in the account's sign-in log. */
async function logPasswordStep(
  deps: AuthDeps,
  account: PanelSignInAccount,
  result: 'wrong_password' | 'disabled' | 'second_factor',
  input: LoginInput,
): Promise<void> {
  await recordPanelSignIn(deps.prisma, account, { result, mechanism: 'password', ip: input.ip, userAgent: input.userAgent });
}

/**
 * A wrong password is logged without being waited for: only existing accounts have a log, and the write must not make
 * their 401 slower than an unknown email's (no enumeration by timing). Best effort, like a session's lastSeenAt.
 */
function logWrongPassword(deps: AuthDeps, account: PanelSignInAccount, input: LoginInput): void {
  void logPasswordStep(deps, account, 'wrong_password', input).catch(() => undefined);
}

/** A session's lastSeenAt is written at most this often (the sessions list shows it). */
export const SESSION_LAST_SEEN_RESOLUTION_MS = 60_000;

export interface SessionAuth {
  principal: UserPrincipal | MailboxPrincipal;
  csrfHash: string;
}

/** Resolves a session cookie token; expired sessions and disabled accounts give undefined. */
export async function authenticateSession(prisma: PrismaClient, token: string, now = new Date()): Promise<SessionAuth | undefined> {
  if (!token || token.length > 200) return undefined;
  const s = await prisma.session.findUnique({
    where: { tokenHash: sha256Hex(token) },
    select: {
      id: true,
      csrfHash: true,
      expiresAt: true,
      lastSeenAt: true,
      user: { select: { id: true, email: true, role: true, disabled: true } },
      mailbox: {
        select: {
          id: true,
          localPart: true,
          domainId: true,
          enabled: true,
          domain: { select: { name: true, active: true, verifiedAt: true, owner: { select: { disabled: true } } } },
        },
      },
    },
  });
  if (!s || s.expiresAt <= now) return undefined;
  // A cheap, throttled write: at most once per SESSION_LAST_SEEN_RESOLUTION_MS, not awaited.
  if (now.getTime() - s.lastSeenAt.getTime() > SESSION_LAST_SEEN_RESOLUTION_MS)
    void prisma.session.update({ where: { id: s.id }, data: { lastSeenAt: now } }).catch(() => undefined);
  if (s.user) {
    if (s.user.disabled) return undefined;
    return {
      csrfHash: s.csrfHash,
      principal: { kind: 'user', userId: s.user.id, email: s.user.email, role: s.user.role, sessionId: s.id },
    };
  }
  if (s.mailbox) {
    const m = s.mailbox;
    if (!m.enabled || !m.domain.active || !m.domain.verifiedAt || m.domain.owner.disabled) return undefined;
    return {
      csrfHash: s.csrfHash,
      principal: { kind: 'mailbox', mailboxId: m.id, address: `${m.localPart}@${m.domain.name}`, domainId: m.domainId, sessionId: s.id },
    };
  }
  return undefined;
}

export async function logout(prisma: PrismaClient, principal: Principal): Promise<void> {
  const sessionId = principal.kind === 'mailbox' ? principal.sessionId : principal.kind === 'user' ? principal.sessionId : undefined;
  if (sessionId) await prisma.session.deleteMany({ where: { id: sessionId } });
}

export async function getMe(
  prisma: PrismaClient,
  principal: Principal,
  opts: { csrfToken: string | null; passwordPolicy: PasswordPolicy },
): Promise<Me> {
  const base = { csrfToken: opts.csrfToken, passwordPolicy: { minLength: opts.passwordPolicy.minLength } };
  if (principal.kind === 'mailbox') {
    const m = await prisma.mailbox.findUnique({
      where: { id: principal.mailboxId },
      include: { domain: { select: { mailboxUsersSenderRules: true } } },
    });
    if (!m) throw new AppError('UNAUTHENTICATED', 'Not signed in');
    return {
      ...base,
      kind: 'mailbox',
      authMethod: 'session',
      user: null,
      scopes: null,
      mailbox: {
        id: m.id,
        address: principal.address,
        domainId: m.domainId,
        displayName: m.displayName,
        quotaBytes: toNumber(m.quotaBytes),
        usedBytes: Number(m.usedBytes),
        messageCount: m.messageCount,
        enabled: m.enabled,
        lastLoginAt: iso(m.lastLoginAt),
        passwordChangedAt: iso(m.passwordChangedAt),
        mayChangeSenderRules: m.domain.mailboxUsersSenderRules !== false,
      },
    };
  }
  if (principal.kind !== 'user') throw new AppError('UNAUTHENTICATED', 'Not signed in');
  const u = await prisma.user.findUnique({ where: { id: principal.userId } });
  if (!u) throw new AppError('UNAUTHENTICATED', 'Not signed in');
  const usage = (await tenantUsage(prisma, [u.id])).get(u.id)!;
  return {
    ...base,
    kind: 'user',
    authMethod: principal.apiKey ? 'apiKey' : 'session',
    scopes: principal.apiKey ? [...principal.apiKey.scopes] : null,
    mailbox: null,
    user: {
      id: u.id,
      email: u.email,
      role: u.role,
      displayName: u.displayName,
      maxDomains: u.maxDomains,
      maxMailboxes: u.maxMailboxes,
      maxStorageBytes: toNumber(u.maxStorageBytes),
      usage,
      lastLoginAt: iso(u.lastLoginAt),
      passwordChangedAt: iso(u.passwordChangedAt),
    },
  };
}

/**
 * Changes the signed-in principal's own password (session only: an API key cannot). Wrong current passwords feed the
 * throttle like failed logins. Every other session of the principal ends; with `revokeApiKeys` every API key of the
 * user is revoked in the same transaction.
 */
export async function changeOwnPassword(
  deps: Pick<AuthDeps, 'prisma' | 'hasher' | 'throttle' | 'passwordPolicy' | 'throttleSleepMaxMs' | 'secret' | 'sessionTtlMs'>,
  actor: Actor,
  input: ChangeOwnPasswordBody,
): Promise<void> {
  const p = actor.principal;
  if (p.kind === 'system' || (p.kind === 'user' && p.apiKey))
    throw new AppError('FORBIDDEN', 'Passwords can only be changed from a signed-in session');
  const account = p.kind === 'user' ? p.email : p.address;
  const attempt = await deps.throttle.attempt(
    { ip: actor.ip ?? 'unknown', login: account, password: input.currentPassword, maxWaitMs: deps.throttleSleepMaxMs },
    async (): Promise<PasswordCheck<boolean>> => {
      const row =
        p.kind === 'user'
          ? await deps.prisma.user.findUnique({ where: { id: p.userId }, select: { passwordHash: true } })
          : await deps.prisma.mailbox.findUnique({ where: { id: p.mailboxId }, select: { passwordHash: true } });
      if (!row) throw new AppError('UNAUTHENTICATED', 'Not signed in');
      const { ok } = await deps.hasher.verify(row.passwordHash, input.currentPassword);
      return { passwordOk: ok, value: ok };
    },
  );
  if (attempt.status === 'throttled') throw throttledError(attempt.retryAfterSeconds);
  if (attempt.status !== 'ok') {
    throw new AppError('VALIDATION_FAILED', 'The current password is incorrect', {
      fields: [{ path: 'currentPassword', message: 'is incorrect', code: 'incorrect' }],
    });
  }
  assertPasswordPolicy(input.newPassword, deps.passwordPolicy, { account, path: 'newPassword' });
  const passwordHash = await deps.hasher.hash(input.newPassword);
  await deps.prisma.$transaction(async (tx) => {
    if (p.kind === 'user') {
      await tx.user.update({ where: { id: p.userId }, data: { passwordHash, passwordChangedAt: new Date() } });
      await tx.session.deleteMany({ where: { userId: p.userId, id: { not: p.sessionId ?? '00000000-0000-0000-0000-000000000000' } } });
      const details = input.revokeApiKeys ? { apiKeysRevoked: await revokeUserApiKeys(tx, p.userId) } : {};
      await recordAudit(tx, actor, {
        action: 'user.password.change',
        targetType: 'user',
        targetId: p.userId,
        ownerId: p.role === 'OWNER' ? p.userId : null,
        details,
      });
    } else {
      const m = await tx.mailbox.update({
        where: { id: p.mailboxId },
        data: { passwordHash, passwordChangedAt: new Date() },
        select: { domainId: true, domain: { select: { ownerId: true } } },
      });
      await tx.session.deleteMany({ where: { mailboxId: p.mailboxId, id: { not: p.sessionId } } });
      await recordAudit(tx, actor, {
        action: 'mailbox.password.change',
        targetType: 'mailbox',
        targetId: p.mailboxId,
        ownerId: m.domain.ownerId,
        details: { address: p.address, domainId: m.domainId },
      });
    }
  });
}
