import { type Prisma, type PrismaClient } from '@mailroom/db';
import { AppError } from '../errors.ts';
import type { DeliveryLogEntry, DeliveryResult, ListDeliveryLogQuery, QuotaWarningMailbox } from '../schemas/delivery-log.ts';
import { findVisibleDomain } from './domains.ts';
import { assertUuidCursor, decodeCursor, toPage, uuidV7PageRange, type Page } from './pagination.ts';
import { type Actor, requireUser, visibleDomainWhere } from './principal.ts';
import { deleteOlderThan, iso, notFound, type Db } from './shared.ts';

/**
 * The delivery log (written by the ingress, one row per recipient outcome): read per domain or per mailbox by the
 * domain's owner and admins, newest first by id (UUID v7, so time order), served by the (domain_id, id) and
 * (mailbox_id, id) indexes; a time range is an id range (uuidV7Floor), so it uses the same index. Pruned after
 * DELIVERY_LOG_RETENTION_DAYS by the worker, by id range over the primary key.
 */

export const DEFAULT_DELIVERY_LOG_RETENTION_DAYS = 30;

type Row = Prisma.DeliveryLogEntryGetPayload<object>;

function toEntryDto(r: Row): DeliveryLogEntry {
  return {
    id: r.id,
    createdAt: r.createdAt.toISOString(),
    result: r.result as DeliveryResult,
    replyCode: r.replyCode,
    enhancedCode: r.enhancedCode,
    reason: r.reason,
    envelopeFrom: r.envelopeFrom,
    headerFrom: r.headerFrom,
    recipient: r.recipient,
    domainId: r.domainId,
    mailboxId: r.mailboxId,
    uid: r.uid,
    sizeOctets: r.sizeOctets,
    messageId: r.messageId,
    clientAddress: r.clientAddress,
    protocol: r.protocol,
    queueId: r.queueId,
  };
}

async function listEntries(
  prisma: PrismaClient,
  scope: Prisma.DeliveryLogEntryWhereInput,
  input: ListDeliveryLogQuery,
): Promise<Page<DeliveryLogEntry>> {
  const where: Prisma.DeliveryLogEntryWhereInput = { ...scope };
  if (input.result) where.result = input.result;
  if (input.sender) {
    const contains = { contains: input.sender, mode: 'insensitive' } as const;
    where.OR = [{ envelopeFrom: contains }, { headerFrom: contains }];
  }
  if (input.recipient) where.recipient = { contains: input.recipient, mode: 'insensitive' };
  const ids = uuidV7PageRange(input);
  if (ids) where.id = ids;
  const rows = await prisma.deliveryLogEntry.findMany({ where, orderBy: { id: 'desc' }, take: input.limit + 1 });
  return toPage(rows, input.limit, (r) => ({ id: r.id }), toEntryDto);
}

/** A domain's delivery log (every recipient that resolved to the domain, delivered or not). NOT_FOUND for others' domains. */
export async function listDomainDeliveryLog(
  prisma: PrismaClient,
  actor: Actor,
  domainId: string,
  input: ListDeliveryLogQuery,
): Promise<Page<DeliveryLogEntry>> {
  const p = requireUser(actor, 'domains:read');
  await findVisibleDomain(prisma, p, domainId, { id: true });
  return listEntries(prisma, { domainId }, input);
}

/** A mailbox's delivery log (copies stored into it, refusals for it). NOT_FOUND for another tenant's mailbox. */
export async function listMailboxDeliveryLog(
  prisma: PrismaClient,
  actor: Actor,
  mailboxId: string,
  input: ListDeliveryLogQuery,
): Promise<Page<DeliveryLogEntry>> {
  const p = requireUser(actor, 'mailboxes:read');
  const mailbox = await prisma.mailbox.findFirst({ where: { id: mailboxId, domain: visibleDomainWhere(p) }, select: { id: true } });
  if (!mailbox) throw notFound('Mailbox');
  return listEntries(prisma, { mailboxId }, input);
}

/** Deletes entries older than `retentionDays` (an id range: ids are UUID v7), in chunks; returns how many went. */
export function pruneDeliveryLog(db: Db, retentionDays: number, now = new Date(), chunk = 10_000): Promise<number> {
  return deleteOlderThan(db, 'delivery_log', retentionDays, now, chunk);
}

interface QuotaWarningRow {
  id: string;
  domain_id: string;
  address: string;
  used_bytes: bigint;
  quota_bytes: bigint;
  warned_percent: number;
  warned_at: Date | null;
}

/**
 * Mailboxes at or above a quota warning threshold, fullest first (the owner's dashboard): the threshold last warned
 * about (stored by the ingress with the delivery) that current usage still reaches — a mailbox emptied since drops out.
 */
export async function listQuotaWarnings(
  prisma: PrismaClient,
  actor: Actor,
  input: { limit: number; cursor?: string | undefined },
): Promise<Page<QuotaWarningMailbox>> {
  const p = requireUser(actor, 'mailboxes:read');
  const cursor = decodeCursor(input.cursor, ['ratio', 'id'] as const);
  const vis = visibleDomainWhere(p);
  const domains = vis.ownerId || vis.id ? await prisma.domain.findMany({ where: vis, select: { id: true } }) : null;
  const ids = domains?.map((d) => d.id) ?? null;
  const ratio = cursor ? Number(cursor.ratio) : null;
  if (cursor && (!Number.isFinite(ratio) || ratio! < 0)) {
    throw new AppError('VALIDATION_FAILED', 'Invalid cursor', {
      fields: [{ path: 'query.cursor', message: 'is not a cursor from this list', code: 'invalid_cursor' }],
    });
  }
  const cursorId = cursor ? assertUuidCursor(cursor.id) : null;
  const rows = await prisma.$queryRaw<(QuotaWarningRow & { ratio: number })[]>`
    SELECT m.id::text AS id, m.domain_id::text AS domain_id, m.local_part || '@' || d.name AS address, m.used_bytes, m.quota_bytes,
           m.quota_warned_percent AS warned_percent, m.quota_warned_at AS warned_at,
           (m.used_bytes::float8 / m.quota_bytes::float8) AS ratio
      FROM mailboxes m JOIN domains d ON d.id = m.domain_id
     WHERE m.quota_warned_percent IS NOT NULL AND m.quota_bytes > 0
       AND m.used_bytes * 100 >= m.quota_warned_percent::bigint * m.quota_bytes
       AND (${ids}::uuid[] IS NULL OR m.domain_id = ANY(${ids}::uuid[]))
       AND (${ratio}::float8 IS NULL OR (m.used_bytes::float8 / m.quota_bytes::float8, m.id) < (${ratio}::float8, ${cursorId}::uuid))
     ORDER BY ratio DESC, m.id DESC
     LIMIT ${input.limit + 1}`;
  return toPage(
    rows,
    input.limit,
    (r) => ({ ratio: String(r.ratio), id: r.id }),
    (r) => ({
      mailboxId: r.id,
      domainId: r.domain_id,
      address: r.address,
      usedBytes: Number(r.used_bytes),
      quotaBytes: Number(r.quota_bytes),
      percentUsed: Math.round(r.ratio * 1000) / 10,
      warnedPercent: r.warned_percent,
      warnedAt: iso(r.warned_at),
    }),
  );
}
