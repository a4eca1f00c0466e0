import { randomBytes } from 'node:crypto';
import type { Prisma, PrismaClient } from '@mailroom/db';
import { isMtaStsMode } from '../mta-sts.ts';
import { normalizeDomain } from '../address.ts';
import { AppError } from '../errors.ts';
import type { CreateDomainBody, Domain, DomainSummary, UpdateDomainBody } from '../schemas/domains.ts';
import { recordAudit } from './audit.ts';
import { fromStoredRetention, toStoredRetention } from './pop3-policy.ts';
import { decodeCursor, toPage, type Page } from './pagination.ts';
import {
  type Actor,
  type SystemPrincipal,
  type UserPrincipal,
  isAdmin,
  isDomainRestricted,
  requireUser,
  visibleDomainWhere,
} from './principal.ts';
import { assertLimitCoversMailboxes } from './storage-limits.ts';
import {
  changedFields,
  iso,
  isUniqueViolation,
  lockDomainName,
  lockTenant,
  notFound,
  TENANT_TX,
  toBigInt,
  toNumber,
  type ServiceDeps,
} from './shared.ts';

const domainSelect = {
  id: true,
  name: true,
  ownerId: true,
  active: true,
  description: true,
  maxMailboxes: true,
  maxStorageBytes: true,
  defaultQuotaBytes: true,
  usedBytes: true,
  loginDelaySeconds: true,
  retentionDays: true,
  quotaWarningThresholds: true,
  greylisting: true,
  mailboxUsersSenderRules: true,
  mtaStsMode: true,
  mtaStsRecordStatus: true,
  verifiedAt: true,
  verificationToken: true,
  claimExpiresAt: true,
  lastDnsCheckAt: true,
  mxStatus: true,
  createdAt: true,
  updatedAt: true,
  owner: { select: { email: true } },
  aliasOf: { select: { id: true, name: true } },
  _count: { select: { mailboxes: true, aliases: true, aliasDomains: true } },
} satisfies Prisma.DomainSelect;
type DomainRow = Prisma.DomainGetPayload<{ select: typeof domainSelect }>;

/** A stored DNS check result (a text column) as the type; anything else reads as not checked. */
function checkStatus(v: string | null): 'ok' | 'missing' | 'different' | null {
  return v === 'ok' || v === 'missing' || v === 'different' ? v : null;
}

export function toDomainDto(r: DomainRow): Domain {
  return {
    id: r.id,
    name: r.name,
    ownerId: r.ownerId,
    ownerEmail: r.owner.email,
    active: r.active,
    description: r.description,
    maxMailboxes: r.maxMailboxes,
    maxStorageBytes: toNumber(r.maxStorageBytes),
    defaultQuotaBytes: toNumber(r.defaultQuotaBytes),
    usedBytes: Number(r.usedBytes),
    loginDelaySeconds: r.loginDelaySeconds,
    retentionDays: fromStoredRetention(r.retentionDays),
    // NULL (the operator default) reads as [] through Prisma; a domain's own list has at least one threshold
    quotaWarningThresholds: r.quotaWarningThresholds?.length ? r.quotaWarningThresholds : null,
    greylisting: r.greylisting,
    mailboxUsersSenderRules: r.mailboxUsersSenderRules,
    mtaStsMode: isMtaStsMode(r.mtaStsMode) ? r.mtaStsMode : null,
    mtaStsRecordStatus: checkStatus(r.mtaStsRecordStatus),
    mailboxCount: r._count.mailboxes,
    aliasCount: r._count.aliases,
    aliasOf: r.aliasOf,
    aliasDomainCount: r._count.aliasDomains,
    verificationStatus: r.verifiedAt ? 'verified' : 'pending',
    verifiedAt: iso(r.verifiedAt),
    claimExpiresAt: iso(r.claimExpiresAt),
    verificationRecord: !r.verifiedAt && r.verificationToken ? verificationRecord(r.name, r.verificationToken) : null,
    mxStatus: checkStatus(r.mxStatus),
    lastDnsCheckAt: iso(r.lastDnsCheckAt),
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

export function normalizeDomainInput(name: string, path = 'name'): string {
  const v = normalizeDomain(name);
  if (!v)
    throw new AppError('VALIDATION_FAILED', 'Invalid domain name', {
      fields: [
        {
          path,
          message: 'must be a domain name like example.com (labels of 1–63 letters, digits or hyphens, no trailing dot, no IP address)',
          code: 'invalid_domain',
        },
      ],
    });
  return v;
}

/** The TXT record that proves control of `name`: `_mailroom.<name>` = `mailroom-verify=<token>`. */
export function verificationRecord(name: string, token: string): { type: 'TXT'; name: string; value: string } {
  return { type: 'TXT', name: `_mailroom.${name}`, value: `mailroom-verify=${token}` };
}

/** Verified domains, and pending claims that have not expired (expired ones are treated as gone until pruned). */
export function liveDomainWhere(now = new Date()): Prisma.DomainWhereInput {
  return { OR: [{ verifiedAt: { not: null } }, { claimExpiresAt: { gt: now } }] };
}

/** A domain the principal may see, or NOT_FOUND (another tenant's domain is indistinguishable from a missing one). */
export async function findVisibleDomain<S extends Prisma.DomainSelect>(
  prisma: PrismaClient | Prisma.TransactionClient,
  p: UserPrincipal | SystemPrincipal,
  domainId: string,
  select: S,
) {
  const row = await prisma.domain.findFirst({ where: { AND: [{ id: domainId }, visibleDomainWhere(p), liveDomainWhere()] }, select });
  if (!row) throw notFound('Domain');
  return row as Prisma.DomainGetPayload<{ select: S }>;
}

/**
 * Mailboxes and aliases belong to the target of an alias domain: its mail is delivered there. DOMAIN_IS_ALIAS names
 * the target, so a client can offer to create the address there instead.
 */
export function assertNotAliasDomain(
  domain: { name: string; aliasOf: { id: string; name: string } | null },
  /** What the caller should do at the target instead. */
  instead = 'create addresses there',
): void {
  if (!domain.aliasOf) return;
  throw new AppError('DOMAIN_IS_ALIAS', `${domain.name} is an alias domain of ${domain.aliasOf.name}; ${instead}`, {
    details: { aliasOf: domain.aliasOf },
  });
}

/** The select that {@link assertNotAliasDomain} needs. */
export const aliasOfSelect = { aliasOf: { select: { id: true, name: true } } } as const satisfies Prisma.DomainSelect;

/**
 * Holds the tenant lock of a domain's owner (as a transfer and a conversion into an alias domain do) and checks the
 * domain again under it: CONFLICT when it changed owner since it was read, DOMAIN_IS_ALIAS when it has become an alias
 * domain meanwhile. For what an alias domain may not hold (aliases, sender rules).
 */
export async function lockDomainTenant(tx: Prisma.TransactionClient, domainId: string, ownerId: string, instead?: string): Promise<void> {
  await lockTenant(tx, ownerId);
  const d = await tx.domain.findUnique({ where: { id: domainId }, select: { ownerId: true, name: true, ...aliasOfSelect } });
  if (!d) throw notFound('Domain');
  if (d.ownerId !== ownerId) throw new AppError('CONFLICT', 'The domain changed owner meanwhile; try again');
  assertNotAliasDomain(d, instead);
}

const invalidAliasOf = (message: string, code: string) =>
  new AppError('VALIDATION_FAILED', 'Invalid alias domain target', { fields: [{ path: 'aliasOf', message, code }] });

/**
 * The target an alias domain is created for or pointed at: a verified, non-alias domain of the same owner that the
 * caller sees, other than the alias domain itself.
 */
async function aliasTarget(
  tx: Prisma.TransactionClient,
  p: UserPrincipal | SystemPrincipal,
  targetId: string,
  ownerId: string,
  aliasDomainId?: string,
) {
  if (targetId === aliasDomainId) throw invalidAliasOf('cannot be the alias domain itself', 'alias_self');
  // another tenant's domain reads as unknown, like a missing one (no enumeration of ids)
  const target = await tx.domain.findFirst({
    where: { AND: [{ id: targetId }, visibleDomainWhere(p), liveDomainWhere()] },
    select: { id: true, name: true, ownerId: true, aliasOfId: true, verifiedAt: true },
  });
  if (!target) throw invalidAliasOf('no such domain', 'unknown_domain');
  if (target.ownerId !== ownerId) throw invalidAliasOf('must be a domain of the same owner', 'other_owner');
  if (target.aliasOfId) throw invalidAliasOf('is itself an alias domain; name the domain it points to', 'alias_chain');
  if (!target.verifiedAt) throw invalidAliasOf('is not verified yet', 'target_pending');
  return target;
}

const adminOnlyFields = ['maxMailboxes', 'maxStorageBytes', 'ownerId'] as const;

/**
 * Whether a domain may become an alias domain, before any lock: not together with a transfer (an alias domain moves
 * with its target), and an owner may not clear limits an administrator set on it (they would be gone for good if it
 * were made a domain of its own again).
 */
function assertConvertible(
  p: UserPrincipal | SystemPrincipal,
  current: { maxMailboxes: number | null; maxStorageBytes: bigint | null },
  newOwnerId: string | undefined,
): void {
  if (newOwnerId) throw invalidAliasOf('a domain cannot be transferred and made an alias domain at once', 'with_transfer');
  if (!isAdmin(p) && (current.maxMailboxes !== null || current.maxStorageBytes !== null)) {
    throw new AppError('FORBIDDEN', 'This domain has limits set by an administrator; ask them to make it an alias domain', {
      fields: [{ path: 'aliasOf', message: 'the domain has limits an administrator set', code: 'admin_only' }],
    });
  }
}

/**
 * Under the tenant lock: a domain becomes an alias domain only while it holds nothing of its own. Its mail would go
 * to the target's addresses instead, so mailboxes and aliases would be unreachable, and its own alias domains would
 * become a chain.
 */
async function assertHoldsNothing(tx: Prisma.TransactionClient, domainId: string, name: string): Promise<void> {
  const counts = await tx.domain.findUniqueOrThrow({
    where: { id: domainId },
    select: { _count: { select: { mailboxes: true, aliases: true, aliasDomains: true } } },
  });
  const { mailboxes, aliases, aliasDomains } = counts._count;
  if (mailboxes || aliases || aliasDomains) {
    throw new AppError(
      'DOMAIN_NOT_EMPTY',
      `${name} has mailboxes, aliases or alias domains; only an empty domain can become an alias domain`,
      {
        details: { mailboxes, aliases, aliasDomains },
      },
    );
  }
}

/** Settings of the mailboxes a domain holds: an alias domain holds none, so they are its target's (never stored). */
const mailboxSettingFields = [
  'maxMailboxes',
  'maxStorageBytes',
  'defaultQuotaBytes',
  'loginDelaySeconds',
  'retentionDays',
  'quotaWarningThresholds',
  'greylisting',
  'mailboxUsersSenderRules',
] as const;

/**
 * A domain made an alias domain loses the settings only its mailboxes used (its target's apply from then on): all of
 * them null, but the quota warning thresholds, which are cleared in SQL (Prisma cannot set a list column to NULL).
 */
const CLEARED_MAILBOX_SETTINGS = Object.fromEntries(
  mailboxSettingFields.filter((f) => f !== 'quotaWarningThresholds').map((f) => [f, null]),
) satisfies Prisma.DomainUpdateInput;

/**
 * An alias domain's settings of this kind are null (the database's CHECK `domains_alias_no_mailbox_settings`): a
 * value would be stored and never read. null is accepted, so a client may send a domain's whole settings form.
 */
function assertNoMailboxSettings(input: Partial<Record<(typeof mailboxSettingFields)[number], unknown>>, targetName: string): void {
  const fields = mailboxSettingFields
    .filter((f) => input[f] != null)
    .map((path) => ({
      path,
      message: `does not apply to an alias domain: its mail is stored in the mailboxes of ${targetName}; set it there`,
      code: 'alias_domain',
    }));
  if (fields.length) throw new AppError('VALIDATION_FAILED', 'These settings do not apply to an alias domain', { fields });
}

/** Limits and owners are admin-only (not for domain-restricted keys either); naming the owner the domain already has is no change. */
function assertAdminFields(p: UserPrincipal | SystemPrincipal, input: Record<string, unknown>, sameOwnerId: string | undefined): void {
  if (isAdmin(p)) return;
  const fields = adminOnlyFields.filter((f) => input[f] !== undefined && !(f === 'ownerId' && input[f] === sameOwnerId));
  if (fields.length) {
    throw new AppError('FORBIDDEN', 'Only administrators can set domain limits or owners', {
      fields: fields.map((f) => ({ path: f, message: 'only administrators can set this', code: 'admin_only' })),
    });
  }
}

async function assertDomainQuotaFits(limitBytes: bigint | null, quotaBytes: bigint | null | undefined): Promise<void> {
  if (limitBytes !== null && quotaBytes != null && quotaBytes > limitBytes) {
    throw new AppError('LIMIT_STORAGE_EXCEEDED', 'The default quota exceeds the storage limit', {
      fields: [{ path: 'defaultQuotaBytes', message: 'exceeds the storage limit' }],
      details: { limitBytes: Number(limitBytes) },
    });
  }
}

export async function createDomain(deps: ServiceDeps, actor: Actor, input: CreateDomainBody): Promise<Domain> {
  const p = requireUser(actor, 'domains:write');
  if (isDomainRestricted(p)) throw new AppError('FORBIDDEN', 'This API key is restricted to listed domains and cannot create domains');
  assertAdminFields(p, input, p.kind === 'user' ? p.userId : undefined);
  if (input.verified && !isAdmin(p)) {
    throw new AppError('FORBIDDEN', 'Only administrators can add a domain as verified; publish the TXT record and verify it instead', {
      fields: [{ path: 'verified', message: 'only unrestricted administrators can set this', code: 'admin_only' }],
    });
  }
  const name = normalizeDomainInput(input.name);
  const ownerId = input.ownerId ?? (p.kind === 'user' ? p.userId : undefined);
  if (!ownerId) throw new AppError('VALIDATION_FAILED', 'ownerId is required', { fields: [{ path: 'ownerId', message: 'is required' }] });
  const now = new Date();
  try {
    const row = await deps.prisma.$transaction(async (tx) => {
      await lockTenant(tx, ownerId);
      await lockDomainName(tx, name);
      await pruneExpiredClaims(tx, now);
      const taken = await tx.domain.findFirst({
        where: { name, OR: [{ verifiedAt: { not: null } }, { ownerId }] },
        select: { verifiedAt: true },
      });
      if (taken?.verifiedAt) {
        throw new AppError('ALREADY_EXISTS', 'This domain is already hosted', {
          fields: [{ path: 'name', message: 'is already hosted', code: 'taken' }],
        });
      }
      if (taken) {
        throw new AppError('ALREADY_EXISTS', 'This owner already has a pending claim for this domain', {
          fields: [{ path: 'name', message: 'already claimed by this owner', code: 'claimed' }],
        });
      }
      const owner = await tx.user.findUnique({
        where: { id: ownerId },
        select: { id: true, maxDomains: true, maxStorageBytes: true, disabled: true },
      });
      if (!owner)
        throw new AppError('VALIDATION_FAILED', 'Unknown owner', {
          fields: [{ path: 'ownerId', message: 'no such owner', code: 'unknown_owner' }],
        });
      if (owner.maxDomains !== null) {
        const count = await tx.domain.count({ where: { ownerId } });
        if (count + 1 > owner.maxDomains)
          throw new AppError('LIMIT_DOMAINS_EXCEEDED', `The owner may have at most ${owner.maxDomains} domain(s)`, {
            details: { limit: owner.maxDomains, current: count },
          });
      }
      // locked with the tenant: the target cannot be deleted or transferred before this row commits
      const target = input.aliasOf ? await aliasTarget(tx, p, input.aliasOf, ownerId) : null;
      if (target) assertNoMailboxSettings(input, target.name);
      const defaultQuotaBytes = toBigInt(input.defaultQuotaBytes) ?? null;
      const maxStorageBytes = toBigInt(input.maxStorageBytes) ?? null;
      await assertDomainQuotaFits(maxStorageBytes ?? owner.maxStorageBytes, defaultQuotaBytes);
      const created = await tx.domain.create({
        data: {
          name,
          ownerId,
          aliasOfId: target?.id ?? null,
          description: input.description ?? null,
          maxMailboxes: input.maxMailboxes ?? null,
          maxStorageBytes,
          defaultQuotaBytes,
          loginDelaySeconds: input.loginDelaySeconds ?? null,
          retentionDays: toStoredRetention(input.retentionDays ?? null),
          ...(input.quotaWarningThresholds ? { quotaWarningThresholds: input.quotaWarningThresholds } : {}),
          greylisting: input.greylisting ?? null,
          mailboxUsersSenderRules: input.mailboxUsersSenderRules ?? null,
          ...(input.verified
            ? { verifiedAt: now }
            : {
                verificationToken: randomBytes(16).toString('hex'),
                claimExpiresAt: new Date(now.getTime() + deps.onboarding.claimTtlHours * 3_600_000),
              }),
        },
        select: domainSelect,
      });
      await recordAudit(tx, actor, {
        action: 'domain.create',
        targetType: 'domain',
        targetId: created.id,
        ownerId,
        details: { ...changedFields(input), name, domainId: created.id, ...(target ? { aliasOfName: target.name } : {}) },
      });
      if (input.verified) {
        const details = { name, domainId: created.id, method: 'admin' };
        await recordAudit(tx, actor, { action: 'domain.verified', targetType: 'domain', targetId: created.id, ownerId, details });
        await removeCompetingClaims(tx, actor, name, created.id);
      }
      return created;
    }, TENANT_TX);
    return toDomainDto(row);
  } catch (err) {
    if (isUniqueViolation(err))
      throw new AppError('ALREADY_EXISTS', 'This domain is already hosted', {
        fields: [{ path: 'name', message: 'is already hosted', code: 'taken' }],
      });
    throw err;
  }
}

export interface ListDomainsInput {
  limit: number;
  cursor?: string | undefined;
  q?: string | undefined;
  ownerId?: string | undefined;
  aliasOf?: string | undefined;
}

export async function listDomains(prisma: PrismaClient, actor: Actor, input: ListDomainsInput): Promise<Page<Domain>> {
  const p = requireUser(actor, 'domains:read');
  const cursor = decodeCursor(input.cursor, ['name'] as const);
  const and: Prisma.DomainWhereInput[] = [visibleDomainWhere(p)];
  if (input.ownerId) and.push({ ownerId: input.ownerId });
  if (input.aliasOf) and.push({ aliasOfId: input.aliasOf });
  and.push(liveDomainWhere());
  if (input.q) and.push({ name: { contains: input.q.toLowerCase() } });
  if (cursor) and.push({ name: { gt: cursor.name } });
  const rows = await prisma.domain.findMany({ where: { AND: and }, select: domainSelect, orderBy: { name: 'asc' }, take: input.limit + 1 });
  return toPage(rows, input.limit, (r) => ({ name: r.name }), toDomainDto);
}

/**
 * Counts over every domain the principal sees (not one page of them): all, pending claims, and verified domains whose
 * last MX re-check found the record missing or pointing elsewhere. One query, whatever the number of domains.
 */
export async function summarizeDomains(prisma: PrismaClient, actor: Actor): Promise<DomainSummary> {
  const p = requireUser(actor, 'domains:read');
  const where: Prisma.DomainWhereInput = { AND: [visibleDomainWhere(p), liveDomainWhere()] };
  const flagged = { in: ['missing', 'different'] };
  const [domains, pending, mxFlagged, mtaStsFlagged] = await prisma.$transaction([
    prisma.domain.count({ where }),
    prisma.domain.count({ where: { AND: [where, { verifiedAt: null }] } }),
    prisma.domain.count({ where: { AND: [where, { verifiedAt: { not: null } }, { mxStatus: flagged }] } }),
    prisma.domain.count({
      where: { AND: [where, { verifiedAt: { not: null } }, { mtaStsMode: { not: null } }, { mtaStsRecordStatus: flagged }] },
    }),
  ]);
  return { domains, pending, mxFlagged, mtaStsFlagged };
}

export async function getDomain(prisma: PrismaClient, actor: Actor, domainId: string): Promise<Domain> {
  const p = requireUser(actor, 'domains:read');
  return toDomainDto(await findVisibleDomain(prisma, p, domainId, domainSelect));
}

export async function updateDomain(deps: ServiceDeps, actor: Actor, domainId: string, input: UpdateDomainBody): Promise<Domain> {
  const p = requireUser(actor, 'domains:write');
  const current = await findVisibleDomain(deps.prisma, p, domainId, {
    id: true,
    name: true,
    ownerId: true,
    active: true,
    maxMailboxes: true,
    maxStorageBytes: true,
    ...aliasOfSelect,
  });
  const currentTargetId = current.aliasOf?.id ?? null;
  assertAdminFields(p, input, current.ownerId);
  const retarget = input.aliasOf !== undefined && input.aliasOf !== currentTargetId;
  const newOwnerId = input.ownerId !== undefined && input.ownerId !== current.ownerId ? input.ownerId : undefined;
  /** A domain becoming an alias domain (it must hold nothing: checked under the tenant lock). */
  const converting = input.aliasOf != null && !currentTargetId;
  if (converting) assertConvertible(p, current, newOwnerId);
  const row = await deps.prisma.$transaction(async (tx) => {
    // Both tenants of a transfer are locked, in a fixed order (two opposite transfers cannot deadlock).
    for (const id of [...new Set([current.ownerId, newOwnerId ?? current.ownerId])].sort()) await lockTenant(tx, id);
    let target = current.aliasOf;
    if (retarget && !newOwnerId) {
      // the target's transfer carries this domain along; checked under the tenant lock that transfer takes
      const fresh = await tx.domain.findUnique({ where: { id: domainId }, select: { ownerId: true } });
      if (fresh?.ownerId !== current.ownerId) throw new AppError('CONFLICT', 'The domain changed owner meanwhile; try again');
      target = input.aliasOf ? await aliasTarget(tx, p, input.aliasOf, current.ownerId, domainId) : null;
    }
    if (target) assertNoMailboxSettings(input, target.name);
    // Mailboxes, aliases and imports re-check "alias domain" under this lock, so none can land in it after this.
    let senderRulesDeleted = 0;
    if (converting) {
      await assertHoldsNothing(tx, domainId, current.name);
      // in SQL: Prisma cannot set a list column to NULL, and the CHECK wants it NULL before alias_of_id is set
      await tx.$executeRaw`UPDATE domains SET quota_warning_thresholds = NULL WHERE id = ${domainId}::uuid`;
      // its sender rules would never be read again: the target's apply to an alias domain's mail
      senderRulesDeleted = (await tx.senderRule.deleteMany({ where: { domainId } })).count;
    }
    if (newOwnerId && currentTargetId) {
      throw new AppError('DOMAIN_IS_ALIAS', 'An alias domain moves with the domain it points to; transfer that one', {
        fields: [{ path: 'ownerId', message: 'transfer the target domain instead', code: 'alias_domain' }],
        details: { aliasOfId: currentTargetId },
      });
    }
    // the alias domains go with their target (the foreign key cascades the owner)
    const aliasDomains = newOwnerId ? await tx.domain.findMany({ where: { aliasOfId: domainId }, select: { id: true, name: true } }) : [];
    if (newOwnerId) await assertTransferAllowed(tx, domainId, newOwnerId, aliasDomains.length);
    if (newOwnerId) {
      const names = [current.name, ...aliasDomains.map((a) => a.name)];
      const clash = await tx.domain.findFirst({ where: { ownerId: newOwnerId, name: { in: names } }, select: { name: true } });
      if (clash) {
        throw new AppError('ALREADY_EXISTS', 'The new owner already has a claim for this domain name', {
          fields: [{ path: 'ownerId', message: `already holds ${clash.name}`, code: 'claimed' }],
        });
      }
    }
    const limit = input.maxStorageBytes !== undefined ? toBigInt(input.maxStorageBytes)! : current.maxStorageBytes;
    await assertDomainQuotaFits(limit ?? null, toBigInt(input.defaultQuotaBytes));
    if (input.maxStorageBytes !== undefined)
      await assertLimitCoversMailboxes(tx, { scope: 'domain', limit: limit ?? null, mailboxes: { domainId }, path: 'maxStorageBytes' });
    // written in SQL: Prisma cannot set a list column back to NULL (the operator default)
    if (input.quotaWarningThresholds !== undefined) {
      await tx.$executeRaw`UPDATE domains SET quota_warning_thresholds = ${input.quotaWarningThresholds}::int[] WHERE id = ${domainId}::uuid`;
    }
    const updated = await tx.domain.update({
      where: { id: domainId },
      data: {
        ownerId: input.ownerId,
        active: input.active,
        description: input.description,
        maxMailboxes: input.maxMailboxes,
        maxStorageBytes: toBigInt(input.maxStorageBytes),
        defaultQuotaBytes: toBigInt(input.defaultQuotaBytes),
        loginDelaySeconds: input.loginDelaySeconds,
        retentionDays: toStoredRetention(input.retentionDays),
        greylisting: input.greylisting,
        mailboxUsersSenderRules: input.mailboxUsersSenderRules,
        ...(retarget ? { aliasOfId: target?.id ?? null } : {}),
        // what only mailboxes use stays null on an alias domain (CHECK domains_alias_no_mailbox_settings)
        ...(converting ? CLEARED_MAILBOX_SETTINGS : {}),
      },
      select: domainSelect,
    });
    const action =
      input.active === false && current.active
        ? 'domain.disable'
        : input.active === true && !current.active
          ? 'domain.enable'
          : 'domain.update';
    await recordAudit(tx, actor, {
      action,
      targetType: 'domain',
      targetId: domainId,
      ownerId: updated.ownerId,
      details: {
        ...changedFields(input),
        domainId,
        ...(retarget ? { previousAliasOf: current.aliasOf, aliasOfName: target?.name ?? null } : {}),
        ...(converting ? { convertedToAlias: true, senderRulesDeleted } : {}),
      },
    });
    if (newOwnerId) {
      for (const d of [{ id: domainId, name: current.name }, ...aliasDomains]) {
        await recordAudit(tx, actor, {
          action: 'domain.transfer',
          targetType: 'domain',
          targetId: d.id,
          ownerId: current.ownerId,
          details: {
            domainId: d.id,
            fromOwnerId: current.ownerId,
            toOwnerId: newOwnerId,
            ...(d.id !== domainId ? { aliasOfId: domainId } : {}),
          },
        });
      }
    }
    return updated;
  });
  return toDomainDto(row);
}

/** How many alias links crossing a transferred domain's boundary are named in the error, at most. */
const MAX_NAMED_ALIAS_LINKS = 100;

/**
 * A domain changes owner only when nothing links it to the rest of the old tenant and the new owner's limits hold:
 * no alias of the domain delivers to a mailbox of another domain, no alias of another domain delivers into it
 * (ALIASES_CROSS_OWNERS, naming each link), and the new owner's domain, mailbox and storage limits cover it.
 */
async function assertTransferAllowed(
  tx: Prisma.TransactionClient,
  domainId: string,
  newOwnerId: string,
  aliasDomains: number,
): Promise<void> {
  const owner = await tx.user.findUnique({
    where: { id: newOwnerId },
    select: { maxDomains: true, maxMailboxes: true, maxStorageBytes: true },
  });
  if (!owner)
    throw new AppError('VALIDATION_FAILED', 'Unknown owner', {
      fields: [{ path: 'ownerId', message: 'no such owner', code: 'unknown_owner' }],
    });
  const crossingWhere: Prisma.AliasDestinationWhereInput = {
    OR: [
      { alias: { domainId }, mailbox: { domainId: { not: domainId } } },
      { mailbox: { domainId }, alias: { domainId: { not: domainId } } },
    ],
  };
  const crossing = await tx.aliasDestination.findMany({
    where: crossingWhere,
    select: {
      alias: { select: { id: true, localPart: true, domain: { select: { name: true } } } },
      mailbox: { select: { id: true, localPart: true, domain: { select: { name: true } } } },
    },
    orderBy: [{ aliasId: 'asc' }, { mailboxId: 'asc' }],
    take: MAX_NAMED_ALIAS_LINKS,
  });
  if (crossing.length) {
    const count = crossing.length < MAX_NAMED_ALIAS_LINKS ? crossing.length : await tx.aliasDestination.count({ where: crossingWhere });
    throw new AppError(
      'ALIASES_CROSS_OWNERS',
      `${count} alias link(s) join this domain to other domains of its owner; remove them before the transfer`,
      {
        fields: [
          { path: 'ownerId', message: 'aliases link the domain to other domains of its current owner', code: 'aliases_cross_owners' },
        ],
        details: {
          count,
          links: crossing.map((c) => ({
            aliasId: c.alias.id,
            alias: `${c.alias.localPart ?? ''}@${c.alias.domain.name}`,
            mailboxId: c.mailbox.id,
            destination: `${c.mailbox.localPart}@${c.mailbox.domain.name}`,
          })),
        },
      },
    );
  }
  if (owner.maxDomains !== null) {
    const count = await tx.domain.count({ where: { ownerId: newOwnerId } });
    if (count + 1 + aliasDomains > owner.maxDomains)
      throw new AppError('LIMIT_DOMAINS_EXCEEDED', `The new owner may have at most ${owner.maxDomains} domain(s)`, {
        details: { limit: owner.maxDomains, current: count, moving: 1 + aliasDomains },
      });
  }
  if (owner.maxMailboxes !== null) {
    const current = await tx.mailbox.count({ where: { domain: { ownerId: newOwnerId } } });
    const moving = await tx.mailbox.count({ where: { domainId } });
    if (current + moving > owner.maxMailboxes) {
      throw new AppError('LIMIT_MAILBOXES_EXCEEDED', `The new owner may have at most ${owner.maxMailboxes} mailbox(es)`, {
        details: { scope: 'owner', limit: owner.maxMailboxes, current, moving },
      });
    }
  }
  await assertLimitCoversMailboxes(tx, {
    scope: 'owner',
    limit: owner.maxStorageBytes,
    mailboxes: { OR: [{ domain: { ownerId: newOwnerId } }, { domainId }] },
    path: 'ownerId',
  });
}

export async function deleteDomain(
  deps: ServiceDeps,
  actor: Actor,
  domainId: string,
  opts: { force?: boolean | undefined },
): Promise<void> {
  const p = requireUser(actor, 'domains:write');
  const current = await findVisibleDomain(deps.prisma, p, domainId, { id: true, name: true, ownerId: true });
  await deps.prisma.$transaction(async (tx) => {
    // serialized with the tenant's other changes: an alias domain created for this one meanwhile is counted below
    await lockTenant(tx, current.ownerId);
    const mailboxes = await tx.mailbox.count({ where: { domainId } });
    const aliasDomains = await tx.domain.findMany({ where: { aliasOfId: domainId }, select: { id: true, name: true } });
    if ((mailboxes > 0 || aliasDomains.length > 0) && !opts.force) {
      const what = [mailboxes && `${mailboxes} mailbox(es)`, aliasDomains.length && `${aliasDomains.length} alias domain(s)`];
      throw new AppError(
        'DOMAIN_NOT_EMPTY',
        `The domain still has ${what.filter(Boolean).join(' and ')}; delete them first or pass force=true`,
        {
          details: { mailboxes, aliasDomains: aliasDomains.length },
        },
      );
    }
    // the alias domains go with it (ON DELETE CASCADE), each audited
    await tx.domain.delete({ where: { id: domainId } });
    const deleted = [
      { id: domainId, name: current.name, more: { mailboxesDeleted: mailboxes, aliasDomainsDeleted: aliasDomains.length } },
      ...aliasDomains.map((a) => ({ ...a, more: { mailboxesDeleted: 0, aliasOfId: domainId } })),
    ];
    for (const d of deleted) {
      await recordAudit(tx, actor, {
        action: 'domain.delete',
        targetType: 'domain',
        targetId: d.id,
        ownerId: current.ownerId,
        details: { name: d.name, domainId: d.id, ...d.more },
      });
    }
  });
}

const SYSTEM_CLAIMS: Actor = { principal: { kind: 'system', label: 'domain-claims' } };

/** Removes (with their mailboxes and aliases) other owners' pending claims for a name another domain just won. Audited. */
export async function removeCompetingClaims(tx: Prisma.TransactionClient, actor: Actor, name: string, winnerId: string): Promise<number> {
  const losers = await tx.domain.findMany({
    where: { name, verifiedAt: null, id: { not: winnerId } },
    select: { id: true, ownerId: true, _count: { select: { mailboxes: true } } },
  });
  if (!losers.length) return 0;
  await tx.domain.deleteMany({ where: { id: { in: losers.map((l) => l.id) } } });
  for (const l of losers) {
    await recordAudit(tx, actor, {
      action: 'domain.claim_removed',
      targetType: 'domain',
      targetId: l.id,
      ownerId: l.ownerId,
      details: {
        name,
        domainId: l.id,
        reason: 'verified_by_another_owner',
        winnerDomainId: winnerId,
        mailboxesDeleted: l._count.mailboxes,
      },
    });
  }
  return losers.length;
}

/**
 * Deletes pending claims whose time ran out (DOMAIN_CLAIM_TTL_HOURS), with their mailboxes and aliases; audited as
 * `domain.claim_expired`. Runs lazily on create/verify and from `domains prune` / the re-check job.
 */
export async function pruneExpiredClaims(db: Prisma.TransactionClient, now = new Date()): Promise<number> {
  const expired = await db.$queryRaw<{ id: string; name: string; owner_id: string }[]>`
    DELETE FROM domains WHERE verified_at IS NULL AND claim_expires_at <= ${now} RETURNING id::text, name, owner_id::text`;
  for (const e of expired) {
    const details = { name: e.name, domainId: e.id };
    await recordAudit(db, SYSTEM_CLAIMS, {
      action: 'domain.claim_expired',
      targetType: 'domain',
      targetId: e.id,
      ownerId: e.owner_id,
      details,
    });
  }
  return expired.length;
}
