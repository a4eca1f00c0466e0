import type { Prisma, PrismaClient } from '@mailroom/db';

/**
 * The one answer to "is this domain hosted here?" for the public edges (autoconfig today): the domain exists, its
 * ownership is verified (a pending claim hosts nothing), it is active, its owner is not disabled, and it is not an alias
 * domain (nobody signs in with an alias domain's addresses: its mail goes to the target's mailboxes). `name` is the normalised (lowercase, punycode) domain. Returns null otherwise.
 */
export async function findHostedDomain(
  db: PrismaClient | Prisma.TransactionClient,
  name: string,
): Promise<{ id: string; name: string } | null> {
  return db.domain.findFirst({
    where: { name, verifiedAt: { not: null }, active: true, aliasOfId: null, owner: { disabled: false } },
    select: { id: true, name: true },
  });
}
