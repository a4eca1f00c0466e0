import type { Prisma, PrismaClient } from '@mailroom/db';

/**
 * The one answer to "is this domain hosted here?" for the public edges (autoconfig today): the domain exists, its
 * ownership is verified (a pending claim hosts nothing), it is active and its owner is not disabled. `name` is the normalised (lowercase, punycode) domain. Returns null otherwise.
 */
export async function findHostedDomain(
  db: PrismaClient | Prisma.TransactionClient,
  name: string,
): Promise<{ id: string; name: string } | null> {
  return db.domain.findFirst({
    where: { name, verifiedAt: { not: null }, active: true, owner: { disabled: false } },
    select: { id: true, name: true },
  });
}
