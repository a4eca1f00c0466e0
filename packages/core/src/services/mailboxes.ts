import { Prisma, type PrismaClient } from '@mailroom/db';
import { normalizeLocalPart } from '../address.ts';
import { AppError } from '../errors.ts';
import type { CreateMailboxBody, Mailbox, UpdateMailboxBody } from '../schemas/mailboxes.ts';
import { recordAudit } from './audit.ts';
import { fromStoredRetention, toStoredRetention } from './pop3-policy.ts';
import { aliasOfSelect, assertNotAliasDomain, findVisibleDomain } from './domains.ts';
import { decodeCursor, toPage, type Page } from './pagination.ts';
import { assertPasswordPolicy } from './password-policy.ts';
import { type Actor, requireUser, visibleDomainWhere } from './principal.ts';
import { releaseDomainUsage } from './quota.ts';
import { assertMailboxQuotaFits } from './storage-limits.ts';
import { changedFields, iso, isUniqueViolation, lockTenant, notFound, TENANT_TX, toBigInt, toNumber, type ServiceDeps } from './shared.ts';

export const mailboxSelect = {
  id: true,
  domainId: true,
  localPart: true,
  displayName: true,
  quotaBytes: true,
  usedBytes: true,
  messageCount: true,
  enabled: true,
  loginDelaySeconds: true,
  retentionDays: true,
  lastLoginAt: true,
  lastLoginIp: true,
  passwordChangedAt: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.MailboxSelect;
export type MailboxRow = Prisma.MailboxGetPayload<{ select: typeof mailboxSelect }>;

export function toMailboxDto(r: MailboxRow, domain: string): Mailbox {
  return {
    id: r.id,
    domainId: r.domainId,
    domain,
    localPart: r.localPart,
    address: `${r.localPart}@${domain}`,
    displayName: r.displayName,
    quotaBytes: toNumber(r.quotaBytes),
    usedBytes: Number(r.usedBytes),
    messageCount: r.messageCount,
    enabled: r.enabled,
    loginDelaySeconds: r.loginDelaySeconds,
    retentionDays: fromStoredRetention(r.retentionDays),
    lastLoginAt: iso(r.lastLoginAt),
    lastLoginIp: r.lastLoginIp,
    passwordChangedAt: iso(r.passwordChangedAt),
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

export function normalizeLocalPartInput(input: string, path = 'localPart'): string {
  const v = normalizeLocalPart(input);
  if (!v)
    throw new AppError('VALIDATION_FAILED', 'Invalid local part', {
      fields: [{ path, message: 'must be a valid local part (RFC 5321 dot-atom, at most 64 octets)', code: 'invalid_local_part' }],
    });
  return v;
}

export const domainForMailboxSelect = {
  id: true,
  name: true,
  ownerId: true,
  maxMailboxes: true,
  maxStorageBytes: true,
  defaultQuotaBytes: true,
  owner: { select: { maxMailboxes: true, maxStorageBytes: true } },
  // checked again under the tenant lock: the domain may have become an alias domain since it was first read
  ...aliasOfSelect,
} satisfies Prisma.DomainSelect;

export async function createMailbox(deps: ServiceDeps, actor: Actor, domainId: string, input: CreateMailboxBody): Promise<Mailbox> {
  const p = requireUser(actor, 'mailboxes:write');
  const domain = await findVisibleDomain(deps.prisma, p, domainId, { id: true, name: true, ownerId: true, ...aliasOfSelect });
  assertNotAliasDomain(domain);
  const localPart = normalizeLocalPartInput(input.localPart);
  const address = `${localPart}@${domain.name}`;
  assertPasswordPolicy(input.password, deps.passwordPolicy, { account: address });
  const passwordHash = await deps.hasher.hash(input.password);
  try {
    const row = await deps.prisma.$transaction(async (tx) => {
      await lockTenant(tx, domain.ownerId);
      const d = await tx.domain.findUnique({ where: { id: domainId }, select: domainForMailboxSelect });
      if (!d) throw notFound('Domain');
      assertNotAliasDomain(d);
      if (d.owner.maxMailboxes !== null) {
        const count = await tx.mailbox.count({ where: { domain: { ownerId: d.ownerId } } });
        if (count + 1 > d.owner.maxMailboxes)
          throw new AppError('LIMIT_MAILBOXES_EXCEEDED', `The owner may have at most ${d.owner.maxMailboxes} mailbox(es)`, {
            details: { scope: 'owner', limit: d.owner.maxMailboxes, current: count },
          });
      }
      if (d.maxMailboxes !== null) {
        const count = await tx.mailbox.count({ where: { domainId } });
        if (count + 1 > d.maxMailboxes)
          throw new AppError('LIMIT_MAILBOXES_EXCEEDED', `The domain may have at most ${d.maxMailboxes} mailbox(es)`, {
            details: { scope: 'domain', limit: d.maxMailboxes, current: count },
          });
      }
      const quota = input.quotaBytes !== undefined ? toBigInt(input.quotaBytes)! : d.defaultQuotaBytes;
      await assertMailboxQuotaFits(
        tx,
        { ownerId: d.ownerId, ownerLimit: d.owner.maxStorageBytes, domainId, domainLimit: d.maxStorageBytes },
        quota ?? null,
      );
      const alias = await tx.alias.findFirst({ where: { domainId, localPart }, select: { id: true } });
      if (alias)
        throw new AppError('ALREADY_EXISTS', 'An alias with this address exists', {
          fields: [{ path: 'localPart', message: 'is already used by an alias', code: 'taken' }],
        });
      const created = await tx.mailbox.create({
        data: {
          domainId,
          localPart,
          passwordHash,
          displayName: input.displayName ?? null,
          quotaBytes: quota ?? null,
          enabled: input.enabled ?? true,
          loginDelaySeconds: input.loginDelaySeconds ?? null,
          retentionDays: toStoredRetention(input.retentionDays ?? null),
        },
        select: mailboxSelect,
      });
      const { password: _p, ...rest } = input;
      await recordAudit(tx, actor, {
        action: 'mailbox.create',
        targetType: 'mailbox',
        targetId: created.id,
        ownerId: d.ownerId,
        details: { ...changedFields(rest), localPart, address, domainId, quotaBytes: quota ?? null },
      });
      return created;
    }, TENANT_TX);
    return toMailboxDto(row, domain.name);
  } catch (err) {
    if (isUniqueViolation(err))
      throw new AppError('ALREADY_EXISTS', 'A mailbox with this address exists', {
        fields: [{ path: 'localPart', message: 'is already taken', code: 'taken' }],
      });
    throw err;
  }
}

interface MailboxListRow {
  domain_name: string;
  id: string | null;
  domain_id: string;
  local_part: string;
  display_name: string | null;
  quota_bytes: bigint | null;
  used_bytes: bigint;
  message_count: number;
  enabled: boolean;
  login_delay_seconds: number | null;
  retention_days: number | null;
  last_login_at: Date | null;
  last_login_ip: string | null;
  password_changed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export function escapeLike(v: string): string {
  return v.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The hot path of the panel and of provisioning scripts: one SQL statement checks the domain is visible and reads the
 * page by keyset on (domain_id, local_part), served by the unique index.
 */
export async function listMailboxes(
  prisma: PrismaClient,
  actor: Actor,
  domainId: string,
  input: { limit: number; cursor?: string | undefined; q?: string | undefined },
): Promise<Page<Mailbox>> {
  const p = requireUser(actor, 'mailboxes:read');
  const cursor = decodeCursor(input.cursor, ['localPart'] as const);
  const vis = visibleDomainWhere(p);
  const ownerFilter = vis.ownerId ? Prisma.sql`AND d.owner_id = ${vis.ownerId}::uuid` : Prisma.empty;
  const keyFilter = vis.id ? Prisma.sql`AND d.id::text = ANY(${vis.id.in}::text[])` : Prisma.empty;
  const cursorFilter = cursor ? Prisma.sql`AND m.local_part > ${cursor.localPart}` : Prisma.empty;
  const pattern = input.q ? `%${escapeLike(input.q)}%` : undefined;
  const search = pattern ? Prisma.sql`AND (m.local_part LIKE ${pattern.toLowerCase()} OR m.display_name ILIKE ${pattern})` : Prisma.empty;
  const rows = await prisma.$queryRaw<MailboxListRow[]>`
    SELECT d.name AS domain_name, m.* FROM domains d
    LEFT JOIN LATERAL (
      SELECT m.id, m.domain_id, m.local_part, m.display_name, m.quota_bytes, m.used_bytes, m.message_count, m.enabled,
             m.login_delay_seconds, m.retention_days, m.last_login_at, m.last_login_ip, m.password_changed_at, m.created_at,
             m.updated_at
      FROM mailboxes m
      WHERE m.domain_id = d.id ${cursorFilter} ${search}
      ORDER BY m.local_part
      LIMIT ${input.limit + 1}
    ) m ON true
    WHERE d.id = ${domainId}::uuid ${ownerFilter} ${keyFilter}`;
  if (!rows.length) throw notFound('Domain');
  const found = rows.filter((r) => r.id !== null);
  const domainName = rows[0]!.domain_name;
  return toPage(
    found,
    input.limit,
    (r) => ({ localPart: r.local_part }),
    (r) =>
      toMailboxDto(
        {
          id: r.id!,
          domainId: r.domain_id,
          localPart: r.local_part,
          displayName: r.display_name,
          quotaBytes: r.quota_bytes,
          usedBytes: r.used_bytes,
          messageCount: r.message_count,
          enabled: r.enabled,
          loginDelaySeconds: r.login_delay_seconds,
          retentionDays: r.retention_days,
          lastLoginAt: r.last_login_at,
          lastLoginIp: r.last_login_ip,
          passwordChangedAt: r.password_changed_at,
          createdAt: r.created_at,
          updatedAt: r.updated_at,
        },
        domainName,
      ),
  );
}

export async function findVisibleMailbox(
  prisma: PrismaClient | Prisma.TransactionClient,
  actor: Actor,
  mailboxId: string,
  scope: 'mailboxes:read' | 'mailboxes:write',
) {
  const p = requireUser(actor, scope);
  const row = await prisma.mailbox.findFirst({
    where: { id: mailboxId, domain: visibleDomainWhere(p) },
    select: { ...mailboxSelect, domain: { select: { name: true, ownerId: true } } },
  });
  if (!row) throw notFound('Mailbox');
  return row;
}

/**
 * Whether an actor may manage a mailbox's own settings (app passwords, sender rules): a mailbox user only their own (any
 * other id is NOT_FOUND, like a mailbox that does not exist); owners, admins and keys the mailboxes they can see (scope
 * mailboxes:read / :write). Returns the domain's owner as seen for those (null for the mailbox's user, whose access does
 * not depend on it), for a write to check again under a lock.
 */
export async function assertManagedMailbox(
  prisma: PrismaClient | Prisma.TransactionClient,
  actor: Actor,
  mailboxId: string,
  scope: 'mailboxes:read' | 'mailboxes:write',
): Promise<string | null> {
  const p = actor.principal;
  if (p.kind !== 'mailbox') return (await findVisibleMailbox(prisma, actor, mailboxId, scope)).domain.ownerId;
  if (p.mailboxId !== mailboxId) throw notFound('Mailbox');
  return null;
}

export async function getMailbox(prisma: PrismaClient, actor: Actor, mailboxId: string): Promise<Mailbox> {
  const row = await findVisibleMailbox(prisma, actor, mailboxId, 'mailboxes:read');
  return toMailboxDto(row, row.domain.name);
}

export async function updateMailbox(deps: ServiceDeps, actor: Actor, mailboxId: string, input: UpdateMailboxBody): Promise<Mailbox> {
  const current = await findVisibleMailbox(deps.prisma, actor, mailboxId, 'mailboxes:write');
  const row = await deps.prisma.$transaction(async (tx) => {
    if (input.quotaBytes !== undefined) {
      await lockTenant(tx, current.domain.ownerId);
      // The limits as they are under the lock (an admin may have just changed them).
      const d = await tx.domain.findUnique({
        where: { id: current.domainId },
        select: { ownerId: true, maxStorageBytes: true, owner: { select: { maxStorageBytes: true } } },
      });
      if (!d) throw notFound('Mailbox');
      const scope = { ownerId: d.ownerId, ownerLimit: d.owner.maxStorageBytes, domainId: current.domainId, domainLimit: d.maxStorageBytes };
      await assertMailboxQuotaFits(tx, scope, toBigInt(input.quotaBytes) ?? null, mailboxId);
    }
    const updated = await tx.mailbox.update({
      where: { id: mailboxId },
      data: {
        displayName: input.displayName,
        quotaBytes: toBigInt(input.quotaBytes),
        enabled: input.enabled,
        loginDelaySeconds: input.loginDelaySeconds,
        retentionDays: toStoredRetention(input.retentionDays),
      },
      select: mailboxSelect,
    });
    if (input.enabled === false) await tx.session.deleteMany({ where: { mailboxId } });
    const action =
      input.enabled === false && current.enabled
        ? 'mailbox.disable'
        : input.enabled === true && !current.enabled
          ? 'mailbox.enable'
          : 'mailbox.update';
    await recordAudit(tx, actor, {
      action,
      targetType: 'mailbox',
      targetId: mailboxId,
      ownerId: current.domain.ownerId,
      details: { ...changedFields(input), address: `${current.localPart}@${current.domain.name}`, domainId: current.domainId },
    });
    return updated;
  });
  return toMailboxDto(row, current.domain.name);
}

export async function setMailboxPassword(deps: ServiceDeps, actor: Actor, mailboxId: string, password: string): Promise<void> {
  const current = await findVisibleMailbox(deps.prisma, actor, mailboxId, 'mailboxes:write');
  const address = `${current.localPart}@${current.domain.name}`;
  assertPasswordPolicy(password, deps.passwordPolicy, { account: address });
  const passwordHash = await deps.hasher.hash(password);
  await deps.prisma.$transaction(async (tx) => {
    await tx.mailbox.update({ where: { id: mailboxId }, data: { passwordHash, passwordChangedAt: new Date() } });
    // The mailbox user is signed out of the panel everywhere.
    await tx.session.deleteMany({ where: { mailboxId } });
    await recordAudit(tx, actor, {
      action: 'mailbox.password.set',
      targetType: 'mailbox',
      targetId: mailboxId,
      ownerId: current.domain.ownerId,
      details: { address, domainId: current.domainId },
    });
  });
}

/** Deletes the mailbox and its messages; the domain's used bytes drop by what the mailbox held. */
export async function deleteMailbox(deps: ServiceDeps, actor: Actor, mailboxId: string): Promise<void> {
  const current = await findVisibleMailbox(deps.prisma, actor, mailboxId, 'mailboxes:write');
  await deps.prisma.$transaction(async (tx) => {
    const locked = await tx.$queryRaw<
      { used_bytes: bigint; message_count: number }[]
    >`SELECT used_bytes, message_count FROM mailboxes WHERE id = ${mailboxId}::uuid FOR UPDATE`;
    const row = locked[0];
    if (!row) throw notFound('Mailbox');
    await tx.mailbox.delete({ where: { id: mailboxId } });
    await releaseDomainUsage(tx, current.domainId, row.used_bytes);
    await recordAudit(tx, actor, {
      action: 'mailbox.delete',
      targetType: 'mailbox',
      targetId: mailboxId,
      ownerId: current.domain.ownerId,
      details: {
        address: `${current.localPart}@${current.domain.name}`,
        domainId: current.domainId,
        messagesDeleted: Number(row.message_count),
        bytesFreed: Number(row.used_bytes),
      },
    });
  });
}
