import { randomBytes } from 'node:crypto';
import type { AuthenticatorTransport, verifyAuthenticationResponse, verifyRegistrationResponse } from '@simplewebauthn/server';
import type { PrismaClient } from '@mailroom/db';
import { AppError } from '../errors.ts';
import type { AddPasskeyBody, Passkey, PasskeyLoginBody } from '../schemas/passkeys.ts';
import { recordAudit } from './audit.ts';
import type { AuthThrottle, PasswordCheck } from './auth-throttle.ts';
import { sha256Hex } from './api-keys.ts';
import { createLoginSession } from './login-session.ts';
import type { Actor, UserPrincipal } from './principal.ts';
import type { LoginResult } from './login-session.ts';
import {
  completeLoginChallenge,
  listSecondFactorMethods,
  policyRequiresSecondFactor,
  readLoginChallenge,
  throttledError,
  type ChallengeClient,
} from './second-factor.ts';
import type { AuthDeps } from './sessions.ts';
import { isUniqueViolation } from './shared.ts';
import { recordPanelSignIn } from './sign-in-log.ts';

/**
 * The WebAuthn library, loaded when a passkey is first used. Only the API serves passkeys, and importing it at start
 * cost every process that loads this package (POP3, ingress, worker, the CLI) about a quarter of a second.
 */
const loadWebAuthn = () => import('@simplewebauthn/server');

/** The relying party: WEBAUTHN_RP_ID / WEBAUTHN_ORIGIN (apps/api config), validated at start. */
export interface WebAuthnConfig {
  /** The RP ID: the panel's host name (or a registrable suffix of it). Passkeys are bound to it for good. */
  rpId: string;
  /** Shown by the authenticator next to the account. */
  rpName: string;
  /** Every origin the panel is served from (scheme://host[:port]). */
  origins: string[];
  /** How long a challenge may be answered. */
  challengeTtlMs: number;
}

/** A user keeps at most this many passkeys. */
export const MAX_PASSKEYS_PER_USER = 20;

type ChallengePurpose = 'registration' | 'authentication';

/** Stores a fresh challenge (only its hash) and forgets expired ones. */
async function storeChallenge(
  prisma: PrismaClient,
  config: WebAuthnConfig,
  challenge: string,
  purpose: ChallengePurpose,
  userId: string | null,
): Promise<void> {
  const now = new Date();
  await prisma.webauthnChallenge.deleteMany({ where: { expiresAt: { lt: now } } });
  await prisma.webauthnChallenge.create({
    data: { challengeHash: sha256Hex(challenge), purpose, userId, expiresAt: new Date(now.getTime() + config.challengeTtlMs) },
  });
}

/**
 * Uses up a challenge: true once for a challenge this server handed out for `purpose` (and, when given, to `userId`)
 * that has not expired. One DELETE, so a replayed or concurrent second answer finds nothing.
 */
async function consumeChallenge(
  prisma: PrismaClient,
  challenge: string,
  purpose: ChallengePurpose,
  userId: string | null | undefined,
): Promise<boolean> {
  if (!challenge || challenge.length > 200) return false;
  const { count } = await prisma.webauthnChallenge.deleteMany({
    where: { challengeHash: sha256Hex(challenge), purpose, expiresAt: { gt: new Date() }, ...(userId !== undefined ? { userId } : {}) },
  });
  return count === 1;
}

/** The WebAuthn user handle of a panel user: its id's bytes (opaque to the authenticator, no personal data). */
function userHandle(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(userId, 'utf8'));
}

function sessionUser(actor: Actor): UserPrincipal {
  const p = actor.principal;
  if (p.kind !== 'user') throw new AppError('FORBIDDEN', 'Passkeys are for panel users (admins and domain owners)');
  if (p.apiKey || !p.sessionId) throw new AppError('FORBIDDEN', 'Passkeys can only be managed from a signed-in session');
  return p;
}

type PasskeyRow = {
  id: string;
  name: string;
  transports: string[];
  deviceType: string;
  backedUp: boolean;
  lastUsedAt: Date | null;
  createdAt: Date;
};
const PASSKEY_SELECT = {
  id: true,
  name: true,
  transports: true,
  deviceType: true,
  backedUp: true,
  lastUsedAt: true,
  createdAt: true,
} as const;

function toPasskey(r: PasskeyRow): Passkey {
  return {
    id: r.id,
    name: r.name,
    transports: r.transports,
    deviceType: r.deviceType,
    backedUp: r.backedUp,
    lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
    createdAt: r.createdAt.toISOString(),
  };
}

function ownerIdOf(p: UserPrincipal): string | null {
  return p.role === 'OWNER' ? p.userId : null;
}

/** Options for navigator.credentials.create(): a discoverable credential, user verification preferred. */
export async function passkeyRegistrationOptions(prisma: PrismaClient, config: WebAuthnConfig, actor: Actor) {
  const p = sessionUser(actor);
  const user = await prisma.user.findUnique({
    where: { id: p.userId },
    select: { email: true, displayName: true, passkeys: { select: { credentialId: true, transports: true } } },
  });
  if (!user) throw new AppError('UNAUTHENTICATED', 'Not signed in');
  const { generateRegistrationOptions } = await loadWebAuthn();
  const options = await generateRegistrationOptions({
    rpName: config.rpName,
    rpID: config.rpId,
    userID: userHandle(p.userId),
    userName: user.email,
    userDisplayName: user.displayName ?? user.email,
    timeout: config.challengeTtlMs,
    attestationType: 'none',
    excludeCredentials: user.passkeys.map((k) => ({ id: k.credentialId, transports: k.transports as AuthenticatorTransport[] })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
  });
  await storeChallenge(prisma, config, options.challenge, 'registration', p.userId);
  return options;
}

const rejected = (why: string) => new AppError('PASSKEY_REJECTED', `The passkey could not be registered: ${why}`);

/** Verifies a registration answer to a challenge handed to this user, and stores the passkey under its name. */
export async function addPasskey(prisma: PrismaClient, config: WebAuthnConfig, actor: Actor, body: AddPasskeyBody): Promise<Passkey> {
  const p = sessionUser(actor);
  const { verifyRegistrationResponse: verify } = await loadWebAuthn();
  let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verification = await verify({
      response: body.response,
      expectedChallenge: (c) => consumeChallenge(prisma, c, 'registration', p.userId),
      expectedOrigin: config.origins,
      expectedRPID: config.rpId,
      requireUserVerification: false,
    });
  } catch (err) {
    throw rejected(err instanceof Error ? err.message.slice(0, 200) : 'invalid response');
  }
  if (!verification.verified || !verification.registrationInfo) throw rejected('not verified');
  const info = verification.registrationInfo;
  if ((await prisma.passkey.count({ where: { userId: p.userId } })) >= MAX_PASSKEYS_PER_USER) {
    throw new AppError('CONFLICT', `You already have ${MAX_PASSKEYS_PER_USER} passkeys: remove one first`);
  }
  try {
    return await prisma.$transaction(async (tx) => {
      const row = await tx.passkey.create({
        data: {
          userId: p.userId,
          credentialId: info.credential.id,
          publicKey: Buffer.from(info.credential.publicKey),
          counter: BigInt(info.credential.counter),
          transports: info.credential.transports ?? body.response.response.transports ?? [],
          name: body.name,
          deviceType: info.credentialDeviceType,
          backedUp: info.credentialBackedUp,
        },
        select: PASSKEY_SELECT,
      });
      await recordAudit(tx, actor, {
        action: 'user.passkey.add',
        targetType: 'user',
        targetId: p.userId,
        ownerId: ownerIdOf(p),
        details: { passkeyId: row.id, name: row.name },
      });
      return toPasskey(row);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('ALREADY_EXISTS', 'This passkey is already registered');
    throw err;
  }
}

export async function listPasskeys(prisma: PrismaClient, actor: Actor): Promise<Passkey[]> {
  const p = sessionUser(actor);
  const rows = await prisma.passkey.findMany({ where: { userId: p.userId }, orderBy: { createdAt: 'asc' }, select: PASSKEY_SELECT });
  return rows.map(toPasskey);
}

/** Renames one of the caller's passkeys; another user's passkey is NOT_FOUND. */
export async function renamePasskey(prisma: PrismaClient, actor: Actor, passkeyId: string, name: string): Promise<Passkey> {
  const p = sessionUser(actor);
  return prisma.$transaction(async (tx) => {
    const { count } = await tx.passkey.updateMany({ where: { id: passkeyId, userId: p.userId }, data: { name } });
    if (!count) throw new AppError('NOT_FOUND', 'No such passkey');
    await recordAudit(tx, actor, {
      action: 'user.passkey.rename',
      targetType: 'user',
      targetId: p.userId,
      ownerId: ownerIdOf(p),
      details: { passkeyId, name },
    });
    return toPasskey(await tx.passkey.findUniqueOrThrow({ where: { id: passkeyId }, select: PASSKEY_SELECT }));
  });
}

/**
 * Removes one of the caller's passkeys; another user's passkey is NOT_FOUND. Where MAILROOM_REQUIRE_2FA covers the
 * user, the last second factor stays: SECOND_FACTOR_REQUIRED.
 */
export async function removePasskey(deps: Pick<AuthDeps, 'prisma' | 'twoFactorPolicy'>, actor: Actor, passkeyId: string): Promise<void> {
  const p = sessionUser(actor);
  await deps.prisma.$transaction(async (tx) => {
    const row = await tx.passkey.findFirst({ where: { id: passkeyId, userId: p.userId }, select: { name: true } });
    if (!row) throw new AppError('NOT_FOUND', 'No such passkey');
    await tx.passkey.delete({ where: { id: passkeyId } });
    if (
      policyRequiresSecondFactor(deps.twoFactorPolicy, p) &&
      !(await listSecondFactorMethods(tx, { kind: 'user', userId: p.userId })).hasFactor
    ) {
      throw new AppError(
        'SECOND_FACTOR_REQUIRED',
        'The operator requires a second factor for your account: add another one before removing this one',
      );
    }
    await recordAudit(tx, actor, {
      action: 'user.passkey.remove',
      targetType: 'user',
      targetId: p.userId,
      ownerId: ownerIdOf(p),
      details: { passkeyId, name: row.name },
    });
  });
}

/**
 * Options for navigator.credentials.get(). Without `userId`: passwordless sign-in, no allowCredentials (the
 * authenticator offers its discoverable credentials). With `userId`: that user's passkeys, and the challenge can only
 * be answered by one of them (the second factor of a pending sign-in).
 */
export async function passkeyAuthenticationOptions(prisma: PrismaClient, config: WebAuthnConfig, userId?: string) {
  const allow = userId ? await prisma.passkey.findMany({ where: { userId }, select: { credentialId: true, transports: true } }) : [];
  const { generateAuthenticationOptions } = await loadWebAuthn();
  const options = await generateAuthenticationOptions({
    rpID: config.rpId,
    timeout: config.challengeTtlMs,
    userVerification: 'preferred',
    allowCredentials: allow.map((k) => ({ id: k.credentialId, transports: k.transports as AuthenticatorTransport[] })),
  });
  await storeChallenge(prisma, config, options.challenge, 'authentication', userId ?? null);
  return options;
}

type AssertionResponse = PasskeyLoginBody['response'];

const STORED_PASSKEY_SELECT = {
  id: true,
  credentialId: true,
  publicKey: true,
  counter: true,
  transports: true,
  user: { select: { id: true, email: true, role: true, disabled: true } },
} as const;

function findPasskey(prisma: PrismaClient, credentialId: string) {
  return prisma.passkey.findUnique({ where: { credentialId }, select: STORED_PASSKEY_SELECT });
}
type StoredPasskey = NonNullable<Awaited<ReturnType<typeof findPasskey>>>;

/**
 * Checks one assertion against a stored passkey (callers throttle): the challenge must be one this server handed out
 * for authentication (to `forUserId`, or to nobody for passwordless sign-in), unexpired and unanswered (it is used up
 * here, so a replay finds nothing); the origin, RP ID and signature must verify; a user handle, when sent, must be the
 * owner's (passwordless sign-in requires it); the signature counter must not go backwards (a cloned authenticator).
 * On success the counter and last use are stored, and whether the user was verified (PIN, biometrics) is returned.
 */
async function checkAssertion(
  prisma: PrismaClient,
  webauthn: WebAuthnConfig,
  passkey: StoredPasskey,
  response: AssertionResponse,
  forUserId: string | null,
): Promise<{ userVerified: boolean } | undefined> {
  const handle = response.response.userHandle;
  if (handle === undefined ? forUserId === null : handle !== Buffer.from(userHandle(passkey.user.id)).toString('base64url'))
    return undefined;
  const { verifyAuthenticationResponse: verify } = await loadWebAuthn();
  let verification: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    verification = await verify({
      response,
      expectedChallenge: (c) => consumeChallenge(prisma, c, 'authentication', forUserId),
      expectedOrigin: webauthn.origins,
      expectedRPID: webauthn.rpId,
      credential: {
        id: passkey.credentialId,
        publicKey: new Uint8Array(passkey.publicKey),
        counter: Number(passkey.counter),
        transports: passkey.transports as AuthenticatorTransport[],
      },
      requireUserVerification: false,
    });
  } catch {
    return undefined;
  }
  if (!verification.verified) return undefined;
  const { newCounter, userVerified } = verification.authenticationInfo;
  // Conditional on the counter read before: of two assertions racing past it, only one advances it.
  const { count } = await prisma.passkey.updateMany({
    where: { id: passkey.id, counter: passkey.counter },
    data: { counter: BigInt(newCounter), lastUsedAt: new Date() },
  });
  return count ? { userVerified } : undefined;
}

export type PasskeyAssertion =
  | { status: 'ok'; principal: UserPrincipal; userVerified: boolean }
  | { status: 'invalid' }
  | { status: 'throttled'; retryAfterSeconds: number };

/**
 * Passwordless: verifies a discoverable-credential assertion (checkAssertion) through the login throttle. A failure
 * counts against the passkey's account and the client's network like a wrong password (every failure counts, none is
 * a "repeat"); an unknown credential names no account and counts against the network only. A disabled account throws
 * ACCOUNT_DISABLED after a valid assertion.
 */
export async function verifyPasskeyAssertion(
  deps: { prisma: PrismaClient; throttle: AuthThrottle; throttleSleepMaxMs: number; webauthn: WebAuthnConfig },
  input: { response: AssertionResponse; ip: string; userAgent?: string | undefined },
): Promise<PasskeyAssertion> {
  const passkey = await findPasskey(deps.prisma, input.response.id);
  let userVerified = false;
  // A registered passkey's refusals go to its account's sign-in log (an unknown credential names no account).
  const log = (userId: string, result: 'passkey_refused' | 'disabled') =>
    recordPanelSignIn(deps.prisma, { kind: 'user', userId }, { result, mechanism: 'passkey', ip: input.ip, userAgent: input.userAgent });
  const attempt = await deps.throttle.attempt(
    { ip: input.ip, login: passkey?.user.email ?? '', password: randomBytes(16).toString('base64url'), maxWaitMs: deps.throttleSleepMaxMs },
    async (): Promise<PasswordCheck<UserPrincipal | undefined>> => {
      const checked = passkey && (await checkAssertion(deps.prisma, deps.webauthn, passkey, input.response, null));
      if (!checked) {
        if (passkey) await log(passkey.user.id, 'passkey_refused');
        return { passwordOk: false, value: undefined };
      }
      if (passkey.user.disabled) {
        await log(passkey.user.id, 'disabled');
        throw new AppError('ACCOUNT_DISABLED', 'This account is disabled');
      }
      userVerified = checked.userVerified;
      return { passwordOk: true, value: { kind: 'user', userId: passkey.user.id, email: passkey.user.email, role: passkey.user.role } };
    },
  );
  if (attempt.status === 'throttled') return attempt;
  if (attempt.status === 'ok' && attempt.value) return { status: 'ok', principal: attempt.value, userVerified };
  return { status: 'invalid' };
}

export interface PasskeyLoginInput extends PasskeyLoginBody {
  ip: string;
  userAgent?: string | undefined;
  previousToken?: string | undefined;
}

type PasskeyAuthDeps = AuthDeps & { webauthn: WebAuthnConfig };

/**
 * Passwordless sign-in with a discoverable credential: the same session as a password sign-in. Where
 * MAILROOM_REQUIRE_2FA covers the account, the authenticator must have verified the user (PIN, biometrics): the passkey
 * is then both factors; without that, SECOND_FACTOR_REQUIRED (sign in with the password, then the passkey).
 */
export async function loginWithPasskey(deps: PasskeyAuthDeps, input: PasskeyLoginInput): Promise<LoginResult> {
  const result = await verifyPasskeyAssertion(deps, { response: input.response, ip: input.ip, userAgent: input.userAgent });
  if (result.status === 'throttled') throw throttledError(result.retryAfterSeconds);
  if (result.status !== 'ok') throw new AppError('INVALID_CREDENTIALS', 'The passkey was not accepted');
  if (!result.userVerified && policyRequiresSecondFactor(deps.twoFactorPolicy, result.principal)) {
    throw new AppError(
      'SECOND_FACTOR_REQUIRED',
      'This passkey did not verify you (no PIN or biometrics): sign in with your password, then the passkey',
    );
  }
  return createLoginSession(deps, {
    principal: result.principal,
    ip: input.ip,
    userAgent: input.userAgent,
    previousToken: input.previousToken,
    method: 'passkey',
  });
}

/** Second factor, step 1: options for the pending sign-in's user, naming that user's passkeys. */
export async function passkeySecondFactorOptions(deps: PasskeyAuthDeps, input: ChallengeClient & { challenge: string }) {
  const pending = await readLoginChallenge(deps, { ...input, purpose: 'second_factor' });
  const count = pending.account.kind === 'user' ? await deps.prisma.passkey.count({ where: { userId: pending.account.userId } }) : 0;
  if (pending.account.kind !== 'user' || !count) throw new AppError('CONFLICT', 'This account has no passkey: use another method');
  return passkeyAuthenticationOptions(deps.prisma, deps.webauthn, pending.account.userId);
}

/**
 * Second factor, step 2: completes the pending sign-in (twofactor's completeLoginChallenge: throttled, single use, same
 * client) with an assertion of one of the account's own passkeys answering a challenge issued for that account.
 */
export async function completeLoginWithPasskey(
  deps: PasskeyAuthDeps,
  input: ChallengeClient & { challenge: string; response: AssertionResponse; previousToken?: string | undefined },
): Promise<LoginResult> {
  const guess = randomBytes(16).toString('base64url'); // every failed assertion counts
  return completeLoginChallenge(deps, { ...input, method: 'passkey', guess }, async (account) => {
    if (account.kind !== 'user') return false;
    const passkey = await findPasskey(deps.prisma, input.response.id);
    if (!passkey || passkey.user.id !== account.userId) return false;
    return Boolean(await checkAssertion(deps.prisma, deps.webauthn, passkey, input.response, account.userId));
  });
}
