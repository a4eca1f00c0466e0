import type { PrismaClient } from '@mailroom/db';
import { canonicalLogin, parseAddress } from '../address.ts';
import type { PasswordHasher } from '../password.ts';
import { appPasswordsRequired, parseAppPassword } from './app-passwords.ts';

export interface AuthenticatedMailbox {
  id: string;
  address: string;
  domainId: string;
  localPart: string;
  domain: string;
  loginDelaySeconds: number | null;
  domainLoginDelaySeconds: number | null;
  /** RFC 2449 EXPIRE of the mailbox and of its domain (null: inherited; see resolvePop3Policy). */
  retentionDays: number | null;
  domainRetentionDays: number | null;
  lastLoginAt: Date | null;
  /** The app password that signed in (POP3 only); null for the main password. */
  appPasswordId: string | null;
}

export type MailboxAuthResult =
  | { status: 'ok'; mailbox: AuthenticatedMailbox }
  /**
   * Unknown address (including mailboxes of a pending, unverified domain) or wrong password: answered the same way.
   * `mailboxId` (a wrong password for an existing mailbox) is for the mailbox's sign-in log only, never for a reply.
   */
  | { status: 'invalid'; mailboxId?: string }
  /** Right password, but the mailbox, its domain or its owner is disabled. */
  | { status: 'disabled'; mailboxId: string }
  /** POP3 only: the right main password, but this mailbox accepts app passwords only for POP3. */
  | { status: 'app-password-required'; mailboxId: string };

export interface MailboxAuthOptions {
  /**
   * `panel` (default): the main password only (self-service). `pop3`: the main password or an app password; with
   * app passwords required (appPasswordsRequired) only an app password.
   */
  service?: 'panel' | 'pop3';
  /** POP3: the operator default for requiring app passwords (POP3_REQUIRE_APP_PASSWORDS). */
  requireAppPasswordsDefault?: boolean;
}

/**
 * Verifies `name@domain` + password against the stored argon2id hash. Unknown addresses spend the same argon2 time as
 * known ones. A login that is no exact spelling of an address (canonicalLogin: whitespace, soft hyphens, fullwidth
 * forms …) is invalid without any argon2 work. A hash made with older parameters is replaced after a successful
 * verification. Callers count the attempt first (AuthThrottle.attempt).
 *
 * POP3 (`service: 'pop3'`) also accepts the mailbox's app passwords. A password shaped like one (24 letters, spaces
 * and dashes ignored) names its stored hash by its first group (the selector), so one argon2 verification decides it;
 * only if that fails and the main password is allowed is the main password verified as well (a main password of 24
 * letters whose first four match a selector: rare, and at most two verifications).
 */
export async function authenticateMailbox(
  prisma: PrismaClient,
  hasher: PasswordHasher,
  login: string,
  password: string,
  opts: MailboxAuthOptions = {},
): Promise<MailboxAuthResult> {
  const pop3 = opts.service === 'pop3';
  const app = pop3 ? parseAppPassword(password) : undefined;
  const parsed = canonicalLogin(login)?.exact ? parseAddress(login) : undefined;
  if (!parsed) return { status: 'invalid' };
  const row = await prisma.mailbox.findFirst({
    // Only a verified domain is hosted: a pending claim's mailboxes do not exist for sign-in (answered as unknown).
    where: { localPart: parsed.localPart, domain: { name: parsed.domain, verifiedAt: { not: null } } },
    select: {
      id: true,
      localPart: true,
      domainId: true,
      passwordHash: true,
      enabled: true,
      loginDelaySeconds: true,
      retentionDays: true,
      lastLoginAt: true,
      pop3AppPasswordsRequired: true,
      pop3AppPasswordsUserRequired: true,
      domain: {
        select: {
          name: true,
          active: true,
          loginDelaySeconds: true,
          retentionDays: true,
          pop3AppPasswordsRequired: true,
          owner: { select: { disabled: true } },
        },
      },
      appPasswords: { where: { selector: app?.selector ?? '' }, select: { id: true, passwordHash: true }, take: app ? 1 : 0 },
    },
  });
  if (!row) {
    await hasher.verifyDummy(password);
    return { status: 'invalid' };
  }
  const mainAllowed =
    !pop3 ||
    !appPasswordsRequired({
      mailbox: row.pop3AppPasswordsRequired,
      domain: row.domain.pop3AppPasswordsRequired,
      operatorDefault: opts.requireAppPasswordsDefault ?? false,
      userRequired: row.pop3AppPasswordsUserRequired,
    });
  const appRow = app ? row.appPasswords[0] : undefined;
  let appPasswordId: string | null = null;
  if (appRow) {
    const v = await hasher.verify(appRow.passwordHash, app!.canonical);
    if (v.ok) {
      appPasswordId = appRow.id;
      if (v.needsRehash)
        await rehash(hasher, app!.canonical, (h) =>
          prisma.mailboxAppPassword.updateMany({ where: { id: appRow.id, passwordHash: appRow.passwordHash }, data: { passwordHash: h } }),
        );
    } else if (!mainAllowed) return { status: 'invalid', mailboxId: row.id };
  }
  if (!appPasswordId) {
    const { ok, needsRehash } = await hasher.verify(row.passwordHash, password);
    if (!ok) return { status: 'invalid', mailboxId: row.id };
    if (!row.enabled || !row.domain.active || row.domain.owner.disabled) return { status: 'disabled', mailboxId: row.id };
    if (!mainAllowed) return { status: 'app-password-required', mailboxId: row.id };
    if (needsRehash)
      await rehash(hasher, password, (h) =>
        prisma.mailbox.updateMany({ where: { id: row.id, passwordHash: row.passwordHash }, data: { passwordHash: h } }),
      );
  }
  if (!row.enabled || !row.domain.active || row.domain.owner.disabled) return { status: 'disabled', mailboxId: row.id };
  return {
    status: 'ok',
    mailbox: {
      id: row.id,
      address: `${row.localPart}@${row.domain.name}`,
      domainId: row.domainId,
      localPart: row.localPart,
      domain: row.domain.name,
      loginDelaySeconds: row.loginDelaySeconds,
      domainLoginDelaySeconds: row.domain.loginDelaySeconds,
      retentionDays: row.retentionDays,
      domainRetentionDays: row.domain.retentionDays,
      lastLoginAt: row.lastLoginAt,
      appPasswordId,
    },
  };
}

/** Stores a hash with current parameters after a successful verification. Best effort: a busy hasher (SERVER_BUSY) must not turn a right password into a failed login. */
async function rehash(hasher: PasswordHasher, password: string, store: (hash: string) => Promise<unknown>): Promise<void> {
  const hash = await hasher.hash(password).catch(() => undefined);
  if (hash) await store(hash);
}

/** Stored hashes sampled per table at start (enough to find the parameters most of them use). */
const HASH_SAMPLE_ROWS = 2000;

/**
 * Tells the hasher which argon2 parameters the stored hashes use, so the dummy verification for unknown accounts costs
 * what a real one costs even after ARGON2_* changed (old hashes are only re-hashed at their next login). Run at start.
 */
export async function sampleStoredHashParams(prisma: PrismaClient, hasher: PasswordHasher): Promise<void> {
  const rows = await prisma.$queryRaw<{ prefix: string; n: bigint }[]>`
    SELECT concat_ws('$', '', split_part(h, '$', 2), split_part(h, '$', 3), split_part(h, '$', 4), '') AS prefix, count(*) AS n
    FROM ((SELECT password_hash AS h FROM mailboxes LIMIT ${HASH_SAMPLE_ROWS})
          UNION ALL (SELECT password_hash AS h FROM users LIMIT ${HASH_SAMPLE_ROWS})) AS s
    WHERE h LIKE '$argon2id$%'
    GROUP BY 1`;
  for (const r of rows) hasher.observeStoredHash(r.prefix, Number(r.n));
}
