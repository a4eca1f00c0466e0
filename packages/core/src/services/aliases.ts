import type { Prisma, PrismaClient } from '@mailroom/db';
import { AppError } from '../errors.ts';
import type { Alias, CreateAliasBody, UpdateAliasBody } from '../schemas/aliases.ts';
import { recordAudit } from './audit.ts';
import { aliasOfSelect, assertNotAliasDomain, findVisibleDomain, lockDomainTenant } from './domains.ts';
import { normalizeLocalPartInput } from './mailboxes.ts';
import { assertUuidCursor, decodeCursor, toPage, type Page } from './pagination.ts';
import { type Actor, requireUser, type SystemPrincipal, type UserPrincipal, visibleDomainWhere } from './principal.ts';
import { changedFields, isUniqueViolation, notFound, TENANT_TX, type ServiceDeps } from './shared.ts';

const aliasSelect = {
  id: true,
  domainId: true,
  localPart: true,
  enabled: true,
  createdAt: true,
  updatedAt: true,
  domain: { select: { name: true, ownerId: true } },
  destinations: {
    select: { mailboxId: true, mailbox: { select: { localPart: true, domainId: true, domain: { select: { name: true } } } } },
    orderBy: { mailboxId: 'asc' },
  },
} satisfies Prisma.AliasSelect;
type AliasRow = Prisma.AliasGetPayload<{ select: typeof aliasSelect }>;

/** The alias as the caller sees it: a domain-restricted key sees no destination outside its domains. */
export function toAliasDto(r: AliasRow, p?: UserPrincipal | SystemPrincipal): Alias {
  const only = p?.kind === 'user' && p.apiKey?.domainIds.length ? new Set(p.apiKey.domainIds) : undefined;
  return {
    id: r.id,
    domainId: r.domainId,
    domain: r.domain.name,
    localPart: r.localPart,
    address: `${r.localPart ?? ''}@${r.domain.name}`,
    enabled: r.enabled,
    destinations: r.destinations
      .filter((d) => !only || only.has(d.mailbox.domainId))
      .map((d) => ({ mailboxId: d.mailboxId, address: `${d.mailbox.localPart}@${d.mailbox.domain.name}` })),
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

/**
 * Destinations must be mailboxes of the domain's owner (any of their domains) that the caller can see (a
 * domain-restricted key: its domains only); others are indistinguishable from missing ones.
 */
async function checkDestinations(
  tx: Prisma.TransactionClient,
  p: UserPrincipal | SystemPrincipal,
  ownerId: string,
  ids: string[],
): Promise<string[]> {
  const unique = [...new Set(ids)];
  const found = await tx.mailbox.findMany({
    where: { id: { in: unique }, domain: { AND: [{ ownerId }, visibleDomainWhere(p)] } },
    select: { id: true },
  });
  const ok = new Set(found.map((m) => m.id));
  const fields = ids.flatMap((id, i) =>
    ok.has(id) ? [] : [{ path: `destinations.${i}`, message: 'no such mailbox', code: 'unknown_mailbox' }],
  );
  if (fields.length) throw new AppError('VALIDATION_FAILED', 'Unknown destination mailbox', { fields });
  return unique;
}

async function assertNoMailboxNamed(tx: Prisma.TransactionClient, domainId: string, localPart: string | null): Promise<void> {
  if (localPart === null) return;
  const m = await tx.mailbox.findFirst({ where: { domainId, localPart }, select: { id: true } });
  if (m)
    throw new AppError('ALREADY_EXISTS', 'A mailbox with this address exists', {
      fields: [{ path: 'localPart', message: 'is already a mailbox', code: 'taken' }],
    });
}

function aliasTaken(): AppError {
  return new AppError('ALREADY_EXISTS', 'An alias with this address exists (one catch-all per domain)', {
    fields: [{ path: 'localPart', message: 'is already an alias', code: 'taken' }],
  });
}

export async function createAlias(deps: ServiceDeps, actor: Actor, domainId: string, input: CreateAliasBody): Promise<Alias> {
  const p = requireUser(actor, 'aliases:write');
  const domain = await findVisibleDomain(deps.prisma, p, domainId, { id: true, name: true, ownerId: true, ...aliasOfSelect });
  assertNotAliasDomain(domain);
  const localPart = input.localPart === null ? null : normalizeLocalPartInput(input.localPart);
  try {
    const row = await deps.prisma.$transaction(async (tx) => {
      await lockDomainTenant(tx, domainId, domain.ownerId);
      const destinations = await checkDestinations(tx, p, domain.ownerId, input.destinations);
      await assertNoMailboxNamed(tx, domainId, localPart);
      const created = await tx.alias.create({
        data: {
          domainId,
          localPart,
          enabled: input.enabled ?? true,
          destinations: { create: destinations.map((mailboxId) => ({ mailboxId })) },
        },
        select: aliasSelect,
      });
      await recordAudit(tx, actor, {
        action: 'alias.create',
        targetType: 'alias',
        targetId: created.id,
        ownerId: domain.ownerId,
        details: { localPart, address: `${localPart ?? ''}@${domain.name}`, destinations, enabled: created.enabled, domainId },
      });
      return created;
    }, TENANT_TX);
    return toAliasDto(row, p);
  } catch (err) {
    if (isUniqueViolation(err)) throw aliasTaken();
    throw err;
  }
}

export async function listAliases(
  prisma: PrismaClient,
  actor: Actor,
  domainId: string,
  input: { limit: number; cursor?: string | undefined },
): Promise<Page<Alias>> {
  const p = requireUser(actor, 'aliases:read');
  const cursor = decodeCursor(input.cursor, ['id'] as const);
  await findVisibleDomain(prisma, p, domainId, { id: true });
  const where: Prisma.AliasWhereInput = { domainId };
  if (cursor) where.id = { gt: assertUuidCursor(cursor.id) };
  const rows = await prisma.alias.findMany({ where, select: aliasSelect, orderBy: { id: 'asc' }, take: input.limit + 1 });
  return toPage(
    rows,
    input.limit,
    (r) => ({ id: r.id }),
    (r) => toAliasDto(r, p),
  );
}

async function findVisibleAlias(
  prisma: PrismaClient,
  actor: Actor,
  aliasId: string,
  scope: 'aliases:read' | 'aliases:write',
): Promise<AliasRow> {
  const p = requireUser(actor, scope);
  const row = await prisma.alias.findFirst({ where: { id: aliasId, domain: visibleDomainWhere(p) }, select: aliasSelect });
  if (!row) throw notFound('Alias');
  return row;
}

export async function getAlias(prisma: PrismaClient, actor: Actor, aliasId: string): Promise<Alias> {
  return toAliasDto(await findVisibleAlias(prisma, actor, aliasId, 'aliases:read'), requireUser(actor, 'aliases:read'));
}

export async function updateAlias(deps: ServiceDeps, actor: Actor, aliasId: string, input: UpdateAliasBody): Promise<Alias> {
  const p = requireUser(actor, 'aliases:write');
  const current = await findVisibleAlias(deps.prisma, actor, aliasId, 'aliases:write');
  const localPart = input.localPart === undefined ? undefined : input.localPart === null ? null : normalizeLocalPartInput(input.localPart);
  try {
    const row = await deps.prisma.$transaction(async (tx) => {
      let destinations: string[] | undefined;
      if (input.destinations) {
        await lockDomainTenant(tx, current.domainId, current.domain.ownerId);
        destinations = await checkDestinations(tx, p, current.domain.ownerId, input.destinations);
        await tx.aliasDestination.deleteMany({ where: { aliasId } });
        await tx.aliasDestination.createMany({ data: destinations.map((mailboxId) => ({ aliasId, mailboxId })) });
      }
      if (localPart !== undefined && localPart !== current.localPart) await assertNoMailboxNamed(tx, current.domainId, localPart);
      const updated = await tx.alias.update({
        where: { id: aliasId },
        data: { localPart, enabled: input.enabled, updatedAt: new Date() },
        select: aliasSelect,
      });
      await recordAudit(tx, actor, {
        action: 'alias.update',
        targetType: 'alias',
        targetId: aliasId,
        ownerId: current.domain.ownerId,
        details: {
          ...changedFields({ localPart, enabled: input.enabled, destinations }),
          address: `${updated.localPart ?? ''}@${current.domain.name}`,
          domainId: current.domainId,
        },
      });
      return updated;
    }, TENANT_TX);
    return toAliasDto(row, p);
  } catch (err) {
    if (isUniqueViolation(err)) throw aliasTaken();
    throw err;
  }
}

export async function deleteAlias(deps: ServiceDeps, actor: Actor, aliasId: string): Promise<void> {
  const current = await findVisibleAlias(deps.prisma, actor, aliasId, 'aliases:write');
  await deps.prisma.$transaction(async (tx) => {
    await tx.alias.delete({ where: { id: aliasId } });
    await recordAudit(tx, actor, {
      action: 'alias.delete',
      targetType: 'alias',
      targetId: aliasId,
      ownerId: current.domain.ownerId,
      details: { address: `${current.localPart ?? ''}@${current.domain.name}`, domainId: current.domainId },
    });
  });
}
