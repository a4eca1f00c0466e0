/**
 * TOTP (RFC 6238, via otpauth) and recovery codes: enrolment, sign-in with a code, self-service management and the
 * admin reset. Secrets are sealed at rest (secret-box.ts); recovery codes are argon2id-hashed and single use; a TOTP
 * code is accepted once (the last used time step is stored) with ±1 step of clock drift.
 */
import { randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import type { Prisma, PrismaClient } from '@mailroom/db';
import { AppError } from '../errors.ts';
import { openSecret, sealSecret } from '../secret-box.ts';
import type { RecoveryCodes, SecondFactorProofBody, SecondFactorReset, TotpEnrolment, TwoFactorStatus } from '../schemas/second-factor.ts';
import { recordAudit } from './audit.ts';
import { createLoginSession, type LoginPrincipal, type LoginResult } from './login-session.ts';
import { type Actor, requireUser } from './principal.ts';
import {
  accountOf,
  accountWhere,
  completeLoginChallenge,
  consumeLoginChallenge,
  listSecondFactorMethods,
  loadLoginPrincipal,
  loginNameOf,
  policyRequiresSecondFactor,
  readLoginChallenge,
  logWrongSecondFactor,
  recordChallengeFailure,
  SECOND_FACTOR_KINDS,
  secondFactorInvalid,
  throttledError,
  throttledFactorCheck,
  type ChallengeClient,
  type FactorAccount,
} from './second-factor.ts';
import type { AuthDeps } from './sessions.ts';
import { iso, notFound } from './shared.ts';

type Db = PrismaClient | Prisma.TransactionClient;

export const TOTP_PERIOD_S = 30;
export const TOTP_DIGITS = 6;
/** Steps of clock drift accepted either side of now. */
export const TOTP_WINDOW = 1;
export const RECOVERY_CODE_COUNT = 10;
const SECRET_PURPOSE = 'totp-secret';
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** A TOTP code for a base32 secret at a time (tests, and RFC 6238 vectors with other digits/algorithms). */
export function generateTotpCode(
  secretBase32: string,
  atMs: number,
  opts: { digits?: number; algorithm?: 'SHA1' | 'SHA256' | 'SHA512' } = {},
): string {
  return TOTP.generate({
    secret: Secret.fromBase32(secretBase32),
    algorithm: opts.algorithm ?? 'SHA1',
    digits: opts.digits ?? TOTP_DIGITS,
    period: TOTP_PERIOD_S,
    timestamp: atMs,
  });
}

export function totpStepAt(atMs: number): number {
  return Math.floor(atMs / 1000 / TOTP_PERIOD_S);
}

/** The time step a code matches within ±TOTP_WINDOW of `atMs`, or undefined. */
export function matchTotpStep(secretBase32: string, code: string, atMs: number): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const delta = TOTP.validate({
    token: code,
    secret: Secret.fromBase32(secretBase32),
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_S,
    timestamp: atMs,
    window: TOTP_WINDOW,
  });
  return delta === null ? undefined : totpStepAt(atMs) + delta;
}

/** Recovery codes as typed: lowercase, without spaces and dashes. */
export function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

function newRecoveryCode(): string {
  let s = '';
  for (let i = 0; i < 10; i++) s += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}

function isTotpCode(code: string): boolean {
  return /^\d{6}$/.test(code.replace(/\s/g, ''));
}

/** Accepts a code of the account's confirmed factor once: the step is recorded atomically, so a replay (or a race) fails. */
async function useTotpCode(
  deps: Pick<AuthDeps, 'prisma' | 'secret'>,
  account: FactorAccount,
  code: string,
  now = Date.now(),
): Promise<boolean> {
  const f = await deps.prisma.totpFactor.findFirst({ where: { ...accountWhere(account), confirmedAt: { not: null } } });
  if (!f) return false;
  const step = matchTotpStep(openSecret(deps.secret, SECRET_PURPOSE, f.secretEnc), code.replace(/\s/g, ''), now);
  if (step === undefined) return false;
  const { count } = await deps.prisma.totpFactor.updateMany({
    where: { id: f.id, OR: [{ lastUsedStep: null }, { lastUsedStep: { lt: BigInt(step) } }] },
    data: { lastUsedStep: BigInt(step) },
  });
  return count === 1;
}

/** Uses up one unused recovery code that matches (argon2id verification of each unused code). */
async function useRecoveryCode(deps: Pick<AuthDeps, 'prisma' | 'hasher'>, account: FactorAccount, code: string): Promise<boolean> {
  const typed = normalizeRecoveryCode(code);
  if (!/^[a-z0-9]{10}$/.test(typed)) return false;
  const rows = await deps.prisma.recoveryCode.findMany({
    where: { ...accountWhere(account), usedAt: null },
    select: { id: true, codeHash: true },
  });
  for (const r of rows) {
    if (!(await deps.hasher.verify(r.codeHash, typed)).ok) continue;
    const { count } = await deps.prisma.recoveryCode.updateMany({ where: { id: r.id, usedAt: null }, data: { usedAt: new Date() } });
    return count === 1;
  }
  return false;
}

function methodFor(code: string, method: 'totp' | 'recovery' | undefined): 'totp' | 'recovery' {
  return method ?? (isTotpCode(code) ? 'totp' : 'recovery');
}

/** Fingerprint of a code for the throttle: a TOTP code retyped within its step is one guess, not two. */
function guessOf(method: 'totp' | 'recovery', code: string): string {
  return method === 'totp' ? `${code.replace(/\s/g, '')}@${totpStepAt(Date.now())}` : normalizeRecoveryCode(code);
}

async function useCode(deps: AuthDeps, account: FactorAccount, method: 'totp' | 'recovery', code: string): Promise<boolean> {
  return method === 'totp' ? useTotpCode(deps, account, code) : useRecoveryCode(deps, account, code);
}

/** Second step of sign-in with a TOTP or recovery code (POST /auth/login/second-factor). */
export async function completeLoginWithCode(
  deps: AuthDeps,
  input: ChallengeClient & {
    challenge: string;
    code: string;
    method?: 'totp' | 'recovery' | undefined;
    previousToken?: string | undefined;
  },
): Promise<LoginResult> {
  const method = methodFor(input.code, input.method);
  return completeLoginChallenge(deps, { ...input, method, guess: guessOf(method, input.code) }, (account) =>
    useCode(deps, account, method, input.code),
  );
}

// ---- enrolment ----

async function replaceRecoveryCodes(db: Db, deps: Pick<AuthDeps, 'hasher'>, account: FactorAccount, hashed: string[]): Promise<void> {
  await db.recoveryCode.deleteMany({ where: accountWhere(account) });
  await db.recoveryCode.createMany({ data: hashed.map((codeHash) => ({ ...accountWhere(account), codeHash })) });
}

/** New recovery codes: the plain codes (shown once) and their argon2id hashes (stored). */
async function newRecoveryCodes(deps: Pick<AuthDeps, 'hasher'>): Promise<{ plain: string[]; hashed: string[] }> {
  const plain = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  const hashed: string[] = [];
  for (const c of plain) hashed.push(await deps.hasher.hash(normalizeRecoveryCode(c)));
  return { plain, hashed };
}

/** Tenant of an account's audit events: the owner itself, or the owner of a mailbox's domain. */
async function auditOwnerId(db: Db, account: FactorAccount): Promise<string | null> {
  if (account.kind === 'user') {
    const u = await db.user.findUnique({ where: { id: account.userId }, select: { role: true } });
    return u?.role === 'OWNER' ? account.userId : null;
  }
  const m = await db.mailbox.findUnique({ where: { id: account.mailboxId }, select: { domain: { select: { ownerId: true } } } });
  return m?.domain.ownerId ?? null;
}

/** Audits a second-factor change: `user.2fa.<what>` for panel users, `mailbox.2fa.<what>` for mailbox users. */
async function auditSecondFactor(
  db: Db,
  actor: Actor,
  account: FactorAccount,
  what: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  const targetType = account.kind;
  const targetId = account.kind === 'user' ? account.userId : account.mailboxId;
  await recordAudit(db, actor, {
    action: `${account.kind}.2fa.${what}`,
    targetType,
    targetId,
    ownerId: await auditOwnerId(db, account),
    details,
  });
}

/** Starts (or restarts) a TOTP enrolment: a new secret, sealed, unconfirmed until a code proves the app has it. */
async function beginEnrolment(deps: AuthDeps, principal: LoginPrincipal): Promise<TotpEnrolment> {
  const account = accountOf(principal);
  const existing = await deps.prisma.totpFactor.findFirst({ where: accountWhere(account), select: { confirmedAt: true } });
  if (existing?.confirmedAt)
    throw new AppError('CONFLICT', 'Two-factor authentication is already enabled; disable it first to enrol again');
  const secret = new Secret({ size: 20 });
  const totp = new TOTP({
    issuer: deps.totpIssuer ?? 'Mailroom',
    label: loginNameOf(principal),
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_S,
    secret,
  });
  const secretEnc = sealSecret(deps.secret, SECRET_PURPOSE, secret.base32);
  const where = account.kind === 'user' ? { userId: account.userId } : { mailboxId: account.mailboxId };
  await deps.prisma.totpFactor.upsert({
    where,
    create: { ...where, secretEnc },
    update: { secretEnc, confirmedAt: null, lastUsedStep: null },
  });
  const otpauthUri = totp.toString();
  const svg = await QRCode.toString(otpauthUri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
  return { secret: secret.base32, otpauthUri, qrCodeDataUrl: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` };
}

/**
 * Confirms an enrolment with a first code (throttled like a password): the factor is on, recovery codes replace any
 * old ones, `<kind>.2fa.enable` is audited. Returns the recovery codes (shown once).
 */
async function confirmEnrolment(
  deps: AuthDeps,
  principal: LoginPrincipal,
  ip: string,
  code: string,
  onConfirmed?: (tx: Prisma.TransactionClient) => Promise<void>,
): Promise<string[]> {
  const account = accountOf(principal);
  const factor = await deps.prisma.totpFactor.findFirst({ where: { ...accountWhere(account), confirmedAt: null } });
  if (!factor) throw new AppError('CONFLICT', 'No enrolment is waiting for confirmation; start one first');
  const now = Date.now();
  let step: number | undefined;
  const ok = await throttledFactorCheck(deps, { principal, guess: guessOf('totp', code) }, async () => {
    step = matchTotpStep(openSecret(deps.secret, SECRET_PURPOSE, factor.secretEnc), code.replace(/\s/g, ''), now);
    return step !== undefined;
  });
  if (!ok || step === undefined) throw secondFactorInvalid();
  const codes = await newRecoveryCodes(deps);
  await deps.prisma.$transaction(async (tx) => {
    const { count } = await tx.totpFactor.updateMany({
      where: { id: factor.id, confirmedAt: null, secretEnc: factor.secretEnc },
      data: { confirmedAt: new Date(), lastUsedStep: BigInt(step!) },
    });
    if (count !== 1) throw new AppError('CONFLICT', 'The enrolment changed meanwhile; start again');
    await replaceRecoveryCodes(tx, deps, account, codes.hashed);
    await onConfirmed?.(tx);
    await auditSecondFactor(tx, { principal, ip }, account, 'enable', { method: 'totp' });
  });
  return codes.plain;
}

/** Self-service principals only: a session of a panel user or a mailbox user (never an API key, never the CLI). */
function selfPrincipal(actor: Actor): LoginPrincipal {
  const p = actor.principal;
  if (p.kind === 'system' || (p.kind === 'user' && p.apiKey))
    throw new AppError('FORBIDDEN', 'Two-factor settings can only be changed from a signed-in session');
  return p;
}

export async function getTwoFactorStatus(deps: AuthDeps, actor: Actor): Promise<TwoFactorStatus> {
  const principal = selfPrincipal(actor);
  const account = accountOf(principal);
  const f = await deps.prisma.totpFactor.findFirst({ where: accountWhere(account), select: { confirmedAt: true } });
  const recoveryCodesRemaining = await deps.prisma.recoveryCode.count({ where: { ...accountWhere(account), usedAt: null } });
  const { methods } = await listSecondFactorMethods(deps.prisma, account);
  return {
    totp: { enabled: Boolean(f?.confirmedAt), confirmedAt: iso(f?.confirmedAt ?? null) },
    recoveryCodesRemaining,
    methods,
    required: policyRequiresSecondFactor(deps.twoFactorPolicy, principal),
  };
}

export async function beginTotpEnrolment(deps: AuthDeps, actor: Actor): Promise<TotpEnrolment> {
  return beginEnrolment(deps, selfPrincipal(actor));
}

export async function confirmTotpEnrolment(deps: AuthDeps, actor: Actor, code: string): Promise<RecoveryCodes> {
  return { recoveryCodes: await confirmEnrolment(deps, selfPrincipal(actor), actor.ip ?? 'unknown', code) };
}

const incorrect = (path: 'password' | 'code') =>
  new AppError('VALIDATION_FAILED', `The ${path === 'code' ? 'code' : 'password'} is incorrect`, {
    fields: [{ path, message: 'is incorrect', code: 'incorrect' }],
  });

/** Proof of presence for sensitive changes: the current password, or a current TOTP/recovery code (throttled). */
async function verifyProof(deps: AuthDeps, principal: LoginPrincipal, ip: string, proof: SecondFactorProofBody): Promise<void> {
  const account = accountOf(principal);
  if (proof.code !== undefined) {
    const method = methodFor(proof.code, undefined);
    const ok = await throttledFactorCheck(deps, { principal, guess: guessOf(method, proof.code) }, () =>
      useCode(deps, account, method, proof.code!),
    );
    if (!ok) throw incorrect('code');
    return;
  }
  const attempt = await deps.throttle.attempt(
    { ip, login: loginNameOf(principal), password: proof.password!, maxWaitMs: deps.throttleSleepMaxMs },
    async () => {
      const row =
        principal.kind === 'user'
          ? await deps.prisma.user.findUnique({ where: { id: principal.userId }, select: { passwordHash: true } })
          : await deps.prisma.mailbox.findUnique({ where: { id: principal.mailboxId }, select: { passwordHash: true } });
      const ok = row ? (await deps.hasher.verify(row.passwordHash, proof.password!)).ok : false;
      return { passwordOk: ok, value: ok };
    },
  );
  if (attempt.status === 'throttled') throw throttledError(attempt.retryAfterSeconds);
  if (attempt.status !== 'ok') throw incorrect('password');
}

/**
 * Turns TOTP off (password or code required). Refused with SECOND_FACTOR_REQUIRED when the policy covers the account
 * and no other primary factor remains. Recovery codes go too when no other primary factor remains.
 */
export async function disableTotp(deps: AuthDeps, actor: Actor, proof: SecondFactorProofBody): Promise<void> {
  const principal = selfPrincipal(actor);
  const account = accountOf(principal);
  const f = await deps.prisma.totpFactor.findFirst({ where: accountWhere(account), select: { id: true, confirmedAt: true } });
  if (!f) throw new AppError('CONFLICT', 'Two-factor authentication with an app is not enabled');
  const others = await listSecondFactorMethods(deps.prisma, account, { except: 'totp' });
  if (f.confirmedAt && !others.hasFactor && policyRequiresSecondFactor(deps.twoFactorPolicy, principal)) {
    throw new AppError(
      'SECOND_FACTOR_REQUIRED',
      'The operator requires a second factor for your account: add another one before removing this one',
    );
  }
  if (f.confirmedAt) await verifyProof(deps, principal, actor.ip ?? 'unknown', proof);
  await deps.prisma.$transaction(async (tx) => {
    await tx.totpFactor.deleteMany({ where: { id: f.id } });
    const recoveryCodesRemoved = others.hasFactor ? 0 : (await tx.recoveryCode.deleteMany({ where: accountWhere(account) })).count;
    if (f.confirmedAt) await auditSecondFactor(tx, actor, account, 'disable', { method: 'totp', recoveryCodesRemoved });
  });
}

/** New recovery codes replace all old ones (password or code required; needs a primary factor). */
export async function regenerateRecoveryCodes(deps: AuthDeps, actor: Actor, proof: SecondFactorProofBody): Promise<RecoveryCodes> {
  const principal = selfPrincipal(actor);
  const account = accountOf(principal);
  if (!(await listSecondFactorMethods(deps.prisma, account)).hasFactor) throw new AppError('CONFLICT', 'Enable a second factor first');
  await verifyProof(deps, principal, actor.ip ?? 'unknown', proof);
  const codes = await newRecoveryCodes(deps);
  await deps.prisma.$transaction(async (tx) => {
    await replaceRecoveryCodes(tx, deps, account, codes.hashed);
    await auditSecondFactor(tx, actor, account, 'recovery_codes.regenerate');
  });
  return { recoveryCodes: codes.plain };
}

// ---- enrolment forced by policy, during sign-in ----

/** Enrolment step of a sign-in under MAILROOM_REQUIRE_2FA: the challenge stands in for a session (enrolment only). */
export async function beginTotpEnrolmentForLogin(deps: AuthDeps, input: ChallengeClient & { challenge: string }): Promise<TotpEnrolment> {
  const pending = await readLoginChallenge(deps, { ...input, purpose: 'enrolment' });
  return beginEnrolment(deps, await loadLoginPrincipal(deps.prisma, pending.account));
}

/** Confirms the enrolment of a sign-in: the challenge is consumed with the confirmation, then the session starts. */
export async function confirmTotpEnrolmentForLogin(
  deps: AuthDeps,
  input: ChallengeClient & { challenge: string; code: string; previousToken?: string | undefined },
): Promise<LoginResult & { recoveryCodes: string[] }> {
  const pending = await readLoginChallenge(deps, { ...input, purpose: 'enrolment' });
  const principal = await loadLoginPrincipal(deps.prisma, pending.account);
  let recoveryCodes: string[];
  try {
    recoveryCodes = await confirmEnrolment(deps, principal, input.ip, input.code, (tx) => consumeLoginChallenge(tx, pending));
  } catch (err) {
    if (err instanceof AppError && err.code === 'SECOND_FACTOR_INVALID') {
      await recordChallengeFailure(deps.prisma, pending);
      await logWrongSecondFactor(deps.prisma, pending.account, { ...input, method: 'totp' });
    }
    throw err;
  }
  const session = await createLoginSession(deps, {
    principal,
    ip: input.ip,
    userAgent: input.userAgent,
    previousToken: input.previousToken,
    method: 'totp',
  });
  return { ...session, recoveryCodes };
}

// ---- admin reset ----

/**
 * An admin removes every second factor of another panel user or of a mailbox (every registered kind), ends all of its
 * sessions and pending sign-ins, and audits `<kind>.2fa.reset`. Under MAILROOM_REQUIRE_2FA the account enrols again at
 * its next sign-in.
 */
export async function resetSecondFactors(deps: Pick<AuthDeps, 'prisma'>, actor: Actor, target: FactorAccount): Promise<SecondFactorReset> {
  const p = requireUser(actor, 'owners:write', { adminOnly: true });
  if (target.kind === 'user' && p.kind === 'user' && p.userId === target.userId) {
    throw new AppError('FORBIDDEN', "Reset another user's second factors; manage your own on the Account page");
  }
  const exists =
    target.kind === 'user'
      ? await deps.prisma.user.count({ where: { id: target.userId } })
      : await deps.prisma.mailbox.count({ where: { id: target.mailboxId } });
  if (!exists) throw notFound(target.kind === 'user' ? 'User' : 'Mailbox');
  return deps.prisma.$transaction(async (tx) => {
    let factorsRemoved = 0;
    for (const kind of SECOND_FACTOR_KINDS) if (kind.primary) factorsRemoved += await kind.remove(tx, target);
    for (const kind of SECOND_FACTOR_KINDS) if (!kind.primary) await kind.remove(tx, target);
    await tx.loginChallenge.deleteMany({ where: accountWhere(target) });
    const sessionsEnded = (await tx.session.deleteMany({ where: accountWhere(target) })).count;
    await auditSecondFactor(tx, actor, target, 'reset', { factorsRemoved, sessionsEnded });
    return { factorsRemoved, sessionsEnded };
  });
}
