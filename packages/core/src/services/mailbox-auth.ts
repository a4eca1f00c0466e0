import type { PrismaClient } from '@mailroom/db';
import { parseAddress } from '../address.ts';
import type { PasswordHasher } from '../password.ts';

export interface AuthenticatedMailbox {
  id: string;
  address: string;
  domainId: string;
  localPart: string;
  domain: string;
  loginDelaySeconds: number | null;
  domainLoginDelaySeconds: number | null;
  retentionDays: number | null;
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
 * known ones. A hash made with older parameters is replaced after a successful verification.
 */
export async function authenticateMailbox(
  prisma: PrismaClient,
  hasher: PasswordHasher,
  login: string,
  password: string,
): Promise<MailboxAuthResult> {
  const parsed = parseAddress(login);
  const row = parsed
    ? await prisma.mailbox.findFirst({
        // Only a verified domain is hosted: a pending claim's mailboxes do not exist for sign-in (answered as unknown).
        where: { localPart: parsed.localPart, domain: { name: parsed.domain, verifiedAt: { not: null } } },
        select: {
          id: true,
          localPart: true,
          domainId: true,
          passwordHash: true,
          enabled: true,
          loginDelaySeconds: true,
          lastLoginAt: true,
          domain: { select: { name: true, active: true, loginDelaySeconds: true, retentionDays: true, owner: { select: { disabled: true } } } },
        },
      })
    : null;
  if (!row) {
    await hasher.verifyDummy(password);
    return { status: 'invalid' };
  }
  const { ok, needsRehash } = await hasher.verify(row.passwordHash, password);
  if (!ok) return { status: 'invalid' };
  if (!row.enabled || !row.domain.active || row.domain.owner.disabled) return { status: 'disabled' };
  if (needsRehash) {
    const passwordHash = await hasher.hash(password);
    await prisma.mailbox.updateMany({ where: { id: row.id, passwordHash: row.passwordHash }, data: { passwordHash } });
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
      retentionDays: row.domain.retentionDays,
      lastLoginAt: row.lastLoginAt,
    },
  };
}
