import type { PrismaClient } from '@mailroom/db';
import { canonicalLogin, parseAddress } from '../address.ts';
import type { PasswordHasher } from '../password.ts';

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
}

export type MailboxAuthResult =
  | { status: 'ok'; mailbox: AuthenticatedMailbox }
  /** Unknown address (including mailboxes of a pending, unverified domain) or wrong password: answered the same way. */
  | { status: 'invalid' }
  /** Right password, but the mailbox, its domain or its owner is disabled. */
  | { status: 'disabled' };

/**
 * Verifies `name@domain` + password against the stored argon2id hash. Unknown addresses spend the same argon2 time as
 * known ones. A login that is no exact spelling of an address (canonicalLogin: whitespace, soft hyphens, fullwidth
 * forms …) is invalid without any argon2 work. A hash made with older parameters is replaced after a successful
 * verification. Callers count the attempt first (AuthThrottle.attempt).
 */
export async function authenticateMailbox(
  prisma: PrismaClient,
  hasher: PasswordHasher,
  login: string,
  password: string,
): Promise<MailboxAuthResult> {
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
      domain: { select: { name: true, active: true, loginDelaySeconds: true, retentionDays: true, owner: { select: { disabled: true } } } },
    },
  });
  if (!row) {
    await hasher.verifyDummy(password);
    return { status: 'invalid' };
  }
  const { ok, needsRehash } = await hasher.verify(row.passwordHash, password);
  if (!ok) return { status: 'invalid' };
  if (!row.enabled || !row.domain.active || row.domain.owner.disabled) return { status: 'disabled' };
  if (needsRehash) {
    // Best effort: a busy hasher (SERVER_BUSY) must not turn a right password into a failed login.
    const passwordHash = await hasher.hash(password).catch(() => undefined);
    if (passwordHash) await prisma.mailbox.updateMany({ where: { id: row.id, passwordHash: row.passwordHash }, data: { passwordHash } });
  }
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
    },
  };
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
