import type { Prisma } from '@mailroom/db';
import { AppError } from '../errors.ts';

/**
 * The storage rule (as PostfixAdmin's): under an owner or a domain with a storage limit (maxStorageBytes), every mailbox
 * has a finite quota (QUOTA_REQUIRED otherwise) and the quotas handed out add up to at most the limit
 * (LIMIT_STORAGE_EXCEEDED). An unlimited mailbox (quotaBytes null) can so exist only where neither its domain nor its
 * owner has a limit. Callers hold the tenant lock (lockTenant) of the owners involved.
 */

export type StorageLimitScope = 'owner' | 'domain';

/** The limits a mailbox lives under. */
export interface MailboxStorageScope {
  ownerId: string;
  ownerLimit: bigint | null;
  domainId: string;
  domainLimit: bigint | null;
}

/** How many mailboxes without a quota are named in an error's details, at most. */
const MAX_NAMED_MAILBOXES = 20;

async function allocatedBytes(tx: Prisma.TransactionClient, where: Prisma.MailboxWhereInput): Promise<bigint> {
  const agg = await tx.mailbox.aggregate({ where, _sum: { quotaBytes: true } });
  return agg._sum.quotaBytes ?? 0n;
}

function limitExceeded(scope: StorageLimitScope, limit: bigint, allocated: bigint, path: string, message: string): AppError {
  return new AppError('LIMIT_STORAGE_EXCEEDED', `The mailbox quotas would exceed the ${scope}'s storage limit`, {
    fields: [{ path, message }],
    details: { scope, limitBytes: Number(limit), allocatedBytes: Number(allocated) },
  });
}

/** A new or changed mailbox quota: required under a limit, and the quotas (without `excludeMailboxId`'s) plus it must fit. */
export async function assertMailboxQuotaFits(
  tx: Prisma.TransactionClient,
  s: MailboxStorageScope,
  quota: bigint | null,
  excludeMailboxId?: string,
): Promise<void> {
  const limits: [StorageLimitScope, bigint | null, Prisma.MailboxWhereInput][] = [
    ['domain', s.domainLimit, { domainId: s.domainId }],
    ['owner', s.ownerLimit, { domain: { ownerId: s.ownerId } }],
  ];
  for (const [scope, limit, where] of limits) {
    if (limit === null) continue;
    if (quota === null) {
      throw new AppError(
        'QUOTA_REQUIRED',
        `Under the ${scope}'s storage limit every mailbox needs a quota (set quotaBytes, or the domain's defaultQuotaBytes)`,
        {
          fields: [{ path: 'quotaBytes', message: `is required under the ${scope}'s storage limit`, code: 'required_under_limit' }],
          details: { scope, limitBytes: Number(limit) },
        },
      );
    }
    const allocated = await allocatedBytes(tx, excludeMailboxId ? { AND: [where, { id: { not: excludeMailboxId } }] } : where);
    if (allocated + quota > limit) {
      const left = limit - allocated < 0n ? 0n : limit - allocated;
      throw limitExceeded(
        scope,
        limit,
        allocated,
        'quotaBytes',
        `at most ${Number(left)} bytes are left under the ${scope}'s storage limit`,
      );
    }
  }
}

/**
 * A limit set on (or a domain moved under) an owner or domain must cover the mailboxes already there: each has a quota
 * (QUOTA_REQUIRED naming those without one) and their quotas fit the limit (LIMIT_STORAGE_EXCEEDED).
 */
export async function assertLimitCoversMailboxes(
  tx: Prisma.TransactionClient,
  opts: { scope: StorageLimitScope; limit: bigint | null; mailboxes: Prisma.MailboxWhereInput; path: string },
): Promise<void> {
  if (opts.limit === null) return;
  const unlimitedWhere: Prisma.MailboxWhereInput = { AND: [opts.mailboxes, { quotaBytes: null }] };
  const unlimited = await tx.mailbox.findMany({
    where: unlimitedWhere,
    select: { localPart: true, domain: { select: { name: true } } },
    orderBy: { id: 'asc' },
    take: MAX_NAMED_MAILBOXES,
  });
  if (unlimited.length) {
    const count = unlimited.length < MAX_NAMED_MAILBOXES ? unlimited.length : await tx.mailbox.count({ where: unlimitedWhere });
    throw new AppError(
      'QUOTA_REQUIRED',
      `Under the ${opts.scope}'s storage limit every mailbox needs a quota; ${count} mailbox(es) have none`,
      {
        fields: [{ path: opts.path, message: `${count} mailbox(es) without a quota`, code: 'mailboxes_without_quota' }],
        details: {
          scope: opts.scope,
          limitBytes: Number(opts.limit),
          mailboxesWithoutQuota: count,
          mailboxes: unlimited.map((m) => `${m.localPart}@${m.domain.name}`),
        },
      },
    );
  }
  const allocated = await allocatedBytes(tx, opts.mailboxes);
  if (allocated > opts.limit)
    throw limitExceeded(
      opts.scope,
      opts.limit,
      allocated,
      opts.path,
      `is below the ${Number(allocated)} bytes of quotas already handed out`,
    );
}
