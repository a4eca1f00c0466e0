import { randomBytes } from 'node:crypto';
import type { Prisma, PrismaClient } from '@mailroom/db';
import { parseAddress, normalizeDomain } from '../address.ts';
import { AppError } from '../errors.ts';
import type { PasswordHasher } from '../password.ts';
import type { CreateOwnerBody, Owner, UpdateOwnerBody } from '../schemas/owners.ts';
import { recordAudit } from './audit.ts';
import { recordEvent } from './webhook-events.ts';
import { decodeCursor, toPage, type Page } from './pagination.ts';
import { assertPasswordPolicy, type PasswordPolicy } from './password-policy.ts';
import { type Actor, requireUser } from './principal.ts';
import { revokeUserApiKeys } from './api-keys.ts';
import { assertLimitCoversMailboxes } from './storage-limits.ts';
import { changedFields, iso, isUniqueViolation, lockTenant, notFound, TENANT_TX, toBigInt, toNumber, type ServiceDeps } from './shared.ts';

/**
 * Panel user emails: the address form of parseAddress when it parses (IDN domains to punycode), else a plain lowercase
 * `local@host` (so operator names like admin@localhost.localdomain keep working).
 */
export function normalizeUserEmail(input: string): string {
  const parsed = parseAddress(input.trim());
  if (parsed) return parsed.address;
  const v = input.trim().toLowerCase();
  const at = v.lastIndexOf('@');
  if (at > 0 && at < v.length - 1 && v.length <= 254 && normalizeDomain(v.slice(at + 1))) return v;
  throw new AppError('VALIDATION_FAILED', 'Invalid email address', {
    fields: [{ path: 'email', message: 'must be an email address like name@example.com', code: 'invalid_email' }],
  });
}

const ownerSelect = {
  id: true,
  email: true,
  displayName: true,
  disabled: true,
  maxDomains: true,
  maxMailboxes: true,
  maxStorageBytes: true,
  lastLoginAt: true,
  passwordChangedAt: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.UserSelect;
type OwnerRow = Prisma.UserGetPayload<{ select: typeof ownerSelect }>;

export interface TenantUsage {
  domains: number;
  mailboxes: number;
  usedBytes: number;
}

/** Domains, mailboxes and bytes used by owners, in two grouped queries. */
export async function tenantUsage(prisma: PrismaClient, ownerIds: string[]): Promise<Map<string, TenantUsage>> {
  const out = new Map<string, TenantUsage>(ownerIds.map((id) => [id, { domains: 0, mailboxes: 0, usedBytes: 0 }]));
  if (!ownerIds.length) return out;
  const domains = await prisma.domain.groupBy({
    by: ['ownerId'],
    where: { ownerId: { in: ownerIds } },
    _count: { _all: true },
    _sum: { usedBytes: true },
  });
  for (const d of domains) {
    const u = out.get(d.ownerId)!;
    u.domains = d._count._all;
    u.usedBytes = Number(d._sum.usedBytes ?? 0n);
  }
  const mailboxes = await prisma.$queryRaw<{ owner_id: string; n: bigint }[]>`
    SELECT d.owner_id::text AS owner_id, count(m.id) AS n FROM mailboxes m JOIN domains d ON d.id = m.domain_id
    WHERE d.owner_id::text = ANY(${ownerIds}) GROUP BY d.owner_id`;
  for (const m of mailboxes) out.get(m.owner_id)!.mailboxes = Number(m.n);
  return out;
}

function toOwnerDto(r: OwnerRow, usage: TenantUsage): Owner {
  return {
    id: r.id,
    email: r.email,
    displayName: r.displayName,
    disabled: r.disabled,
    maxDomains: r.maxDomains,
    maxMailboxes: r.maxMailboxes,
    maxStorageBytes: toNumber(r.maxStorageBytes),
    usage,
    lastLoginAt: iso(r.lastLoginAt),
    passwordChangedAt: iso(r.passwordChangedAt),
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

async function ownerDto(prisma: PrismaClient, r: OwnerRow): Promise<Owner> {
  const usage = await tenantUsage(prisma, [r.id]);
  return toOwnerDto(r, usage.get(r.id)!);
}

export async function createOwner(deps: ServiceDeps, actor: Actor, input: CreateOwnerBody): Promise<Owner> {
  requireUser(actor, 'owners:write', { adminOnly: true });
  const email = normalizeUserEmail(input.email);
  assertPasswordPolicy(input.password, deps.passwordPolicy, { account: email });
  const passwordHash = await deps.hasher.hash(input.password);
  try {
    const row = await deps.prisma.$transaction(async (tx) => {
      const created = await tx.user.create({
        data: {
          email,
          passwordHash,
          role: 'OWNER',
          displayName: input.displayName ?? null,
          maxDomains: input.maxDomains ?? null,
          maxMailboxes: input.maxMailboxes ?? null,
          maxStorageBytes: toBigInt(input.maxStorageBytes) ?? null,
        },
        select: ownerSelect,
      });
      const { password: _p, ...details } = input;
      await recordAudit(tx, actor, {
        action: 'owner.create',
        targetType: 'owner',
        targetId: created.id,
        ownerId: created.id,
        details: { ...details, email },
      });
      return created;
    });
    return toOwnerDto(row, { domains: 0, mailboxes: 0, usedBytes: 0 });
  } catch (err) {
    if (isUniqueViolation(err))
      throw new AppError('ALREADY_EXISTS', 'A user with this email already exists', {
        fields: [{ path: 'email', message: 'is already taken', code: 'taken' }],
      });
    throw err;
  }
}

export async function listOwners(
  prisma: PrismaClient,
  actor: Actor,
  input: { limit: number; cursor?: string | undefined; q?: string | undefined },
): Promise<Page<Owner>> {
  requireUser(actor, 'owners:read', { adminOnly: true });
  const cursor = decodeCursor(input.cursor, ['email'] as const);
  const where: Prisma.UserWhereInput = { role: 'OWNER' };
  if (input.q) where.email = { contains: input.q.toLowerCase() };
  if (cursor) where.AND = [{ email: { gt: cursor.email } }];
  const rows = await prisma.user.findMany({ where, select: ownerSelect, orderBy: { email: 'asc' }, take: input.limit + 1 });
  const usage = await tenantUsage(
    prisma,
    rows.map((r) => r.id),
  );
  return toPage(
    rows,
    input.limit,
    (r) => ({ email: r.email }),
    (r) => toOwnerDto(r, usage.get(r.id)!),
  );
}

export async function findOwner(prisma: PrismaClient | Prisma.TransactionClient, ownerId: string): Promise<OwnerRow> {
  const row = await prisma.user.findFirst({ where: { id: ownerId, role: 'OWNER' }, select: ownerSelect });
  if (!row) throw notFound('Owner');
  return row;
}

export async function getOwner(prisma: PrismaClient, actor: Actor, ownerId: string): Promise<Owner> {
  requireUser(actor, 'owners:read', { adminOnly: true });
  return ownerDto(prisma, await findOwner(prisma, ownerId));
}

export async function updateOwner(deps: ServiceDeps, actor: Actor, ownerId: string, input: UpdateOwnerBody): Promise<Owner> {
  requireUser(actor, 'owners:write', { adminOnly: true });
  const current = await findOwner(deps.prisma, ownerId);
  const email = input.email !== undefined ? normalizeUserEmail(input.email) : undefined;
  let passwordHash: string | undefined;
  if (input.password !== undefined) {
    assertPasswordPolicy(input.password, deps.passwordPolicy, { account: email ?? current.email });
    passwordHash = await deps.hasher.hash(input.password);
  }
  try {
    const row = await deps.prisma.$transaction(async (tx) => {
      if (input.maxStorageBytes != null) {
        await lockTenant(tx, ownerId);
        await assertLimitCoversMailboxes(tx, {
          scope: 'owner',
          limit: BigInt(input.maxStorageBytes),
          mailboxes: { domain: { ownerId } },
          path: 'maxStorageBytes',
        });
      }
      const updated = await tx.user.update({
        where: { id: ownerId },
        data: {
          email,
          passwordHash,
          passwordChangedAt: passwordHash ? new Date() : undefined,
          displayName: input.displayName,
          disabled: input.disabled,
          maxDomains: input.maxDomains,
          maxMailboxes: input.maxMailboxes,
          maxStorageBytes: toBigInt(input.maxStorageBytes),
        },
        select: ownerSelect,
      });
      // A new password or a disabled account ends every session and keeps no key usable (keys check `disabled`).
      const sessionsEnded = passwordHash || input.disabled ? (await tx.session.deleteMany({ where: { userId: ownerId } })).count : 0;
      // A reset password also revokes every key: whoever held the old password may have made one.
      const apiKeysRevoked = passwordHash ? await revokeUserApiKeys(tx, ownerId) : 0;
      const { password: _p, ...rest } = input;
      // `changed` names every field set, including "password" (never its value).
      const details: Record<string, unknown> = { ...changedFields({ ...rest, email }), changed: Object.keys(changedFields(input)) };
      if (passwordHash || input.disabled) Object.assign(details, { sessionsEnded, apiKeysRevoked });
      const action =
        input.disabled === true && !current.disabled
          ? 'owner.disable'
          : input.disabled === false && current.disabled
            ? 'owner.enable'
            : passwordHash
              ? 'owner.password.reset'
              : 'owner.update';
      await recordAudit(tx, actor, { action, targetType: 'owner', targetId: ownerId, ownerId, details });
      return updated;
    }, TENANT_TX);
    return ownerDto(deps.prisma, row);
  } catch (err) {
    if (isUniqueViolation(err))
      throw new AppError('ALREADY_EXISTS', 'A user with this email already exists', {
        fields: [{ path: 'email', message: 'is already taken', code: 'taken' }],
      });
    throw err;
  }
}

export async function deleteOwner(deps: ServiceDeps, actor: Actor, ownerId: string, opts: { force?: boolean | undefined }): Promise<void> {
  requireUser(actor, 'owners:write', { adminOnly: true });
  const owner = await findOwner(deps.prisma, ownerId);
  await deps.prisma.$transaction(async (tx) => {
    const owned = await tx.domain.findMany({ where: { ownerId }, select: { id: true, name: true } });
    const domains = owned.length;
    if (domains > 0 && !opts.force) {
      throw new AppError('OWNER_NOT_EMPTY', `The owner still has ${domains} domain(s); delete them first or pass force=true`, {
        details: { domains },
      });
    }
    if (domains > 0) await tx.domain.deleteMany({ where: { ownerId } });
    // the owner's own webhook endpoints go with the owner; administrators' endpoints still hear of each domain
    for (const d of owned)
      await recordEvent(tx, {
        type: 'domain.deleted',
        ownerId,
        domainId: d.id,
        data: { domainId: d.id, name: d.name, ownerId, reason: 'owner_deleted' },
      });
    await tx.user.delete({ where: { id: ownerId } });
    await recordAudit(tx, actor, {
      action: 'owner.delete',
      targetType: 'owner',
      targetId: ownerId,
      ownerId,
      details: { email: owner.email, domainsDeleted: domains },
    });
  });
}

// ---- admins ----

export interface BootstrapAdminResult {
  created: boolean;
  email: string;
  /** Set when the admin was created without a given password: show it once to the operator. */
  generatedPassword?: string;
}

/**
 * 24 random base64url characters. Never starting with `-`: password CSVs neutralise cells a spreadsheet would read as a
 * formula (csvCell), which must not alter a password.
 */
export function generatePassword(): string {
  for (;;) {
    const password = randomBytes(18).toString('base64url');
    if (!password.startsWith('-')) return password;
  }
}

/** Creates the first admin when no admin exists (idempotent; the launcher calls it at every start). */
export async function bootstrapAdmin(
  prisma: PrismaClient,
  hasher: PasswordHasher,
  input: { email: string; password?: string | undefined },
): Promise<BootstrapAdminResult> {
  const email = normalizeUserEmail(input.email);
  const existing = await prisma.user.findFirst({ where: { role: 'ADMIN' }, select: { email: true } });
  if (existing) return { created: false, email: existing.email };
  const password = input.password ?? generatePassword();
  const passwordHash = await hasher.hash(password);
  const created = await prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended('mailroom:bootstrap-admin', 0))`;
    if (await tx.user.findFirst({ where: { role: 'ADMIN' }, select: { id: true } })) return false;
    const user = await tx.user.create({ data: { email, passwordHash, role: 'ADMIN' }, select: { id: true } });
    await recordAudit(
      tx,
      { principal: { kind: 'system', label: 'bootstrap' } },
      { action: 'admin.create', targetType: 'user', targetId: user.id, details: { email } },
    );
    return true;
  });
  if (!created) {
    const again = await prisma.user.findFirst({ where: { role: 'ADMIN' }, select: { email: true } });
    return { created: false, email: again?.email ?? email };
  }
  return input.password ? { created: true, email } : { created: true, email, generatedPassword: password };
}

/** Operator CLI: creates an admin (any number of them). */
export async function createAdmin(
  prisma: PrismaClient,
  hasher: PasswordHasher,
  policy: PasswordPolicy,
  input: { email: string; password: string },
  actor: Actor = { principal: { kind: 'system', label: 'cli' } },
): Promise<{ id: string; email: string }> {
  const email = normalizeUserEmail(input.email);
  assertPasswordPolicy(input.password, policy, { account: email });
  const passwordHash = await hasher.hash(input.password);
  try {
    return await prisma.$transaction(async (tx) => {
      const user = await tx.user.create({ data: { email, passwordHash, role: 'ADMIN' }, select: { id: true, email: true } });
      await recordAudit(tx, actor, { action: 'admin.create', targetType: 'user', targetId: user.id, details: { email } });
      return user;
    });
  } catch (err) {
    if (isUniqueViolation(err))
      throw new AppError('ALREADY_EXISTS', 'A user with this email already exists', {
        fields: [{ path: 'email', message: 'is already taken', code: 'taken' }],
      });
    throw err;
  }
}
