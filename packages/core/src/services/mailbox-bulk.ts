import { Prisma, type PrismaClient } from '@mailroom/db';
import { csvLine } from '../csv.ts';
import { AppError } from '../errors.ts';
import {
  type BulkMailboxBody,
  type BulkMailboxResult,
  type GeneratedPassword,
  MAX_BULK_SELECTION,
  type MailboxSelection,
} from '../schemas/mailbox-bulk.ts';
import { recordAudit, recordAuditMany, type AuditEntry } from './audit.ts';
import { findVisibleDomain } from './domains.ts';
import { escapeLike } from './mailboxes.ts';
import { type Actor, requireUser } from './principal.ts';
import { releaseDomainUsage } from './quota.ts';
import { type Db, lockTenant, TENANT_TX, type ServiceDeps } from './shared.ts';
import { generatePassword } from './users.ts';

/** Bulk writes touch up to MAX_BULK_SELECTION rows and audit each: longer than TENANT_TX. */
const BULK_TX = { maxWait: TENANT_TX.maxWait, timeout: 300_000 } as const;

const selectedSelect = { id: true, localPart: true, enabled: true, quotaBytes: true } satisfies Prisma.MailboxSelect;
type Selected = Prisma.MailboxGetPayload<{ select: typeof selectedSelect }>;

/**
 * The mailboxes a selection names, all of this domain: an id of another domain (another tenant's, or a made-up one) is
 * refused as NOT_FOUND for the whole request, never silently dropped; a filter matching more than MAX_BULK_SELECTION
 * mailboxes is TOO_MANY_ROWS.
 */
async function resolveSelection(db: Db, domainId: string, selection: MailboxSelection): Promise<Selected[]> {
  if ('ids' in selection) {
    const ids = [...new Set(selection.ids.map((id) => id.toLowerCase()))];
    const rows = await db.mailbox.findMany({ where: { domainId, id: { in: ids } }, select: selectedSelect, orderBy: { localPart: 'asc' } });
    if (rows.length !== ids.length) {
      throw new AppError('NOT_FOUND', `${ids.length - rows.length} of the selected mailboxes are not mailboxes of this domain`, {
        fields: [{ path: 'selection.ids', message: 'names mailboxes that are not in this domain', code: 'unknown_ids' }],
        details: { unknown: ids.length - rows.length },
      });
    }
    return rows;
  }
  // The list's search (listMailboxes): LIKE on the lowercase local part, ILIKE on the display name.
  const { q, enabled } = selection.filter;
  const pattern = q ? `%${escapeLike(q)}%` : undefined;
  const search = pattern ? Prisma.sql`AND (local_part LIKE ${pattern.toLowerCase()} OR display_name ILIKE ${pattern})` : Prisma.empty;
  const state = enabled !== undefined ? Prisma.sql`AND enabled = ${enabled}` : Prisma.empty;
  const matched = await db.$queryRaw<{ id: string }[]>`
    SELECT id FROM mailboxes WHERE domain_id = ${domainId}::uuid ${search} ${state} ORDER BY local_part LIMIT ${MAX_BULK_SELECTION + 1}`;
  if (matched.length > MAX_BULK_SELECTION)
    throw new AppError('TOO_MANY_ROWS', `The filter matches more than ${MAX_BULK_SELECTION} mailboxes; narrow it`, {
      details: { max: MAX_BULK_SELECTION },
    });
  return db.mailbox.findMany({
    where: { domainId, id: { in: matched.map((r) => r.id) } },
    select: selectedSelect,
    orderBy: { localPart: 'asc' },
  });
}

/** The new quotas of `ids` under the domain's and the owner's storage limits (the rule of storage-limits.ts, for many at once). */
async function assertBulkQuotaFits(
  tx: Prisma.TransactionClient,
  d: { id: string; ownerId: string; maxStorageBytes: bigint | null; owner: { maxStorageBytes: bigint | null } },
  ids: string[],
  quota: bigint | null,
) {
  const limits: ['domain' | 'owner', bigint | null, Prisma.MailboxWhereInput][] = [
    ['domain', d.maxStorageBytes, { domainId: d.id }],
    ['owner', d.owner.maxStorageBytes, { domain: { ownerId: d.ownerId } }],
  ];
  for (const [scope, limit, where] of limits) {
    if (limit === null) continue;
    if (quota === null) {
      throw new AppError('QUOTA_REQUIRED', `Under the ${scope}'s storage limit every mailbox needs a quota`, {
        fields: [{ path: 'quotaBytes', message: `is required under the ${scope}'s storage limit`, code: 'required_under_limit' }],
        details: { scope, limitBytes: Number(limit) },
      });
    }
    const others = await tx.mailbox.aggregate({ where: { AND: [where, { id: { notIn: ids } }] }, _sum: { quotaBytes: true } });
    const allocated = others._sum.quotaBytes ?? 0n;
    const wanted = quota * BigInt(ids.length);
    if (allocated + wanted > limit) {
      throw new AppError('LIMIT_STORAGE_EXCEEDED', `The mailbox quotas would exceed the ${scope}'s storage limit`, {
        fields: [
          {
            path: 'quotaBytes',
            message: `${ids.length} × ${Number(quota)} bytes do not fit: ${Number(limit - allocated < 0n ? 0n : limit - allocated)} bytes are left`,
          },
        ],
        details: { scope, limitBytes: Number(limit), allocatedBytes: Number(allocated), requestedBytes: Number(wanted) },
      });
    }
  }
}

/**
 * One action on many mailboxes of a domain, in one transaction: enable, disable (signs their users out), setQuota
 * (under the storage limits, all or nothing), resetPassword (generated passwords, returned once), delete. Each mailbox
 * is audited as its single action would be, and the whole as one mailbox.bulk event.
 */
export async function bulkMailboxAction(
  deps: ServiceDeps,
  actor: Actor,
  domainId: string,
  input: BulkMailboxBody,
): Promise<BulkMailboxResult> {
  const p = requireUser(actor, 'mailboxes:write');
  const domain = await findVisibleDomain(deps.prisma, p, domainId, { id: true, name: true, ownerId: true });
  const address = (m: { localPart: string }) => `${m.localPart}@${domain.name}`;
  // Passwords are hashed before the transaction (argon2 on every core), for the selection as it is now.
  let hashes = new Map<string, { password: string; hash: string }>();
  if (input.action === 'resetPassword') {
    const before = await resolveSelection(deps.prisma, domainId, input.selection);
    const passwords = before.map(() => generatePassword());
    const hashed = await deps.hasher.hashMany(passwords);
    hashes = new Map(before.map((m, i) => [m.id, { password: passwords[i]!, hash: hashed[i]! }]));
  }
  return deps.prisma.$transaction(async (tx) => {
    await lockTenant(tx, domain.ownerId);
    const selected = await resolveSelection(tx, domainId, input.selection);
    const ids = selected.map((m) => m.id);
    let changed = 0;
    const generated: Omit<GeneratedPassword, 'row'>[] = [];
    // one audit row (and webhook event) per mailbox, as single changes write them; inserted together at the end
    const audits: AuditEntry[] = [];
    const audit = (m: Selected, action: string, details: Record<string, unknown> = {}) =>
      audits.push({
        action,
        targetType: 'mailbox',
        targetId: m.id,
        ownerId: domain.ownerId,
        details: { ...details, address: address(m), domainId, bulk: true },
      });
    switch (input.action) {
      case 'enable':
      case 'disable': {
        const enabled = input.action === 'enable';
        const targets = selected.filter((m) => m.enabled !== enabled);
        const targetIds = targets.map((m) => m.id);
        await tx.mailbox.updateMany({ where: { id: { in: targetIds } }, data: { enabled } });
        if (!enabled) await tx.session.deleteMany({ where: { mailboxId: { in: targetIds } } });
        for (const m of targets) audit(m, `mailbox.${input.action}`, { enabled });
        changed = targets.length;
        break;
      }
      case 'setQuota': {
        const d = await tx.domain.findUniqueOrThrow({
          where: { id: domainId },
          select: { id: true, ownerId: true, maxStorageBytes: true, owner: { select: { maxStorageBytes: true } } },
        });
        const quota = input.quotaBytes === null || input.quotaBytes === undefined ? null : BigInt(input.quotaBytes);
        await assertBulkQuotaFits(tx, d, ids, quota);
        const targets = selected.filter((m) => m.quotaBytes !== quota);
        await tx.mailbox.updateMany({ where: { id: { in: targets.map((m) => m.id) } }, data: { quotaBytes: quota } });
        for (const m of targets) audit(m, 'mailbox.update', { quotaBytes: quota });
        changed = targets.length;
        break;
      }
      case 'resetPassword': {
        for (const m of selected) {
          // A mailbox that joined the filter after hashing gets its password now (rare; one hash in the transaction).
          const h =
            hashes.get(m.id) ??
            (await (async () => {
              const password = generatePassword();
              return { password, hash: await deps.hasher.hash(password) };
            })());
          await tx.mailbox.update({ where: { id: m.id }, data: { passwordHash: h.hash, passwordChangedAt: new Date() } });
          audit(m, 'mailbox.password.set');
          generated.push({ mailboxId: m.id, address: address(m), password: h.password });
        }
        await tx.session.deleteMany({ where: { mailboxId: { in: ids } } });
        changed = selected.length;
        break;
      }
      case 'delete': {
        const locked = await tx.$queryRaw<{ id: string; used_bytes: bigint; message_count: number }[]>`
          SELECT id, used_bytes, message_count FROM mailboxes WHERE id = ANY(${ids}::uuid[]) FOR UPDATE`;
        const byId = new Map(locked.map((r) => [r.id, r]));
        await tx.mailbox.deleteMany({ where: { id: { in: ids } } });
        const freed = locked.reduce((sum, r) => sum + r.used_bytes, 0n);
        await releaseDomainUsage(tx, domainId, freed);
        for (const m of selected) {
          const r = byId.get(m.id);
          audit(m, 'mailbox.delete', { messagesDeleted: Number(r?.message_count ?? 0), bytesFreed: Number(r?.used_bytes ?? 0n) });
        }
        changed = locked.length;
        break;
      }
    }
    await recordAuditMany(tx, actor, audits);
    await recordAudit(tx, actor, {
      action: 'mailbox.bulk',
      targetType: 'domain',
      targetId: domainId,
      ownerId: domain.ownerId,
      details: {
        domainId,
        domain: domain.name,
        action: input.action,
        matched: selected.length,
        changed,
        ...(input.action === 'setQuota' ? { quotaBytes: input.quotaBytes } : {}),
      },
    });
    return { action: input.action, matched: selected.length, changed, generatedPasswords: generated };
  }, BULK_TX);
}

/** The columns of a mailbox export, named as the import reads them back. */
export const MAILBOX_EXPORT_COLUMNS = [
  'address',
  'displayName',
  'quota',
  'usedBytes',
  'messageCount',
  'enabled',
  'lastLoginAt',
  'createdAt',
] as const;
const EXPORT_PAGE = 1000;

/**
 * A domain's mailboxes as CSV (no secrets), streamed page by page in address order, with formula-looking cells
 * neutralised (csvCell). Visibility is checked before the first line, so a refusal is an ordinary error response.
 */
export async function exportMailboxesCsv(
  prisma: PrismaClient,
  actor: Actor,
  domainId: string,
): Promise<{ domain: string; lines: AsyncGenerator<string> }> {
  const p = requireUser(actor, 'mailboxes:read');
  const domain = await findVisibleDomain(prisma, p, domainId, { id: true, name: true });
  async function* lines(): AsyncGenerator<string> {
    yield csvLine(MAILBOX_EXPORT_COLUMNS);
    let after: string | undefined;
    for (;;) {
      const page = await prisma.mailbox.findMany({
        where: { domainId, ...(after !== undefined ? { localPart: { gt: after } } : {}) },
        select: {
          localPart: true,
          displayName: true,
          quotaBytes: true,
          usedBytes: true,
          messageCount: true,
          enabled: true,
          lastLoginAt: true,
          createdAt: true,
        },
        orderBy: { localPart: 'asc' },
        take: EXPORT_PAGE,
      });
      if (!page.length) return;
      yield page
        .map((m) =>
          csvLine([
            `${m.localPart}@${domain.name}`,
            m.displayName,
            m.quotaBytes === null ? 'unlimited' : Number(m.quotaBytes),
            Number(m.usedBytes),
            m.messageCount,
            m.enabled,
            m.lastLoginAt?.toISOString() ?? null,
            m.createdAt.toISOString(),
          ]),
        )
        .join('');
      if (page.length < EXPORT_PAGE) return;
      after = page[page.length - 1]!.localPart;
    }
  }
  return { domain: domain.name, lines: lines() };
}
