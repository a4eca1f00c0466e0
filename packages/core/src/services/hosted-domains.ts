import type { Prisma, PrismaClient } from '@mailroom/db';

/**
 * The one answer to "is this domain hosted here?" for the public edges (autoconfig today): the domain exists, its
 * ownership is verified (a pending claim hosts nothing), it is active and its owner is not disabled; for an alias
 * domain, its target is active too. `name` is the normalised (lowercase, punycode) domain. `loginDomain` is the domain
 * whose addresses sign in: the target's for an alias domain (nobody signs in with an alias domain's addresses), else
 * its own; `mtaStsMode` is the domain's own MTA-STS mode (null: no policy served). Returns null otherwise.
 */
export async function findHostedDomain(
  db: PrismaClient | Prisma.TransactionClient,
  name: string,
): Promise<{ id: string; name: string; loginDomain: string; mtaStsMode: string | null } | null> {
  const d = await db.domain.findFirst({
    where: {
      name,
      verifiedAt: { not: null },
      active: true,
      owner: { disabled: false },
      OR: [{ aliasOfId: null }, { aliasOf: { is: { active: true } } }],
    },
    select: { id: true, name: true, mtaStsMode: true, aliasOf: { select: { name: true } } },
  });
  return d ? { id: d.id, name: d.name, loginDomain: d.aliasOf?.name ?? d.name, mtaStsMode: d.mtaStsMode } : null;
}
