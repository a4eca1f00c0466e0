import type { Prisma, PrismaClient } from '@mailroom/db';
import { type Actor, actorLabel } from './principal.ts';
import { AppError } from '../errors.ts';
import { assertUuidCursor, decodeCursor, toPage, type Page } from './pagination.ts';
import { requireUser, visibleDomainWhere } from './principal.ts';
import type { AuditEvent } from '../schemas/audit.ts';
import { recordEvent, recordEvents, webhookEventFromAudit, type WebhookEventInput } from './webhook-events.ts';

type Db = PrismaClient | Prisma.TransactionClient;

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId?: string | null;
  /** Tenant the event belongs to (the owner user id), so owners see their own trail. */
  ownerId?: string | null;
  /** Changed fields and their new non-secret values. Never a password, hash or key. */
  details?: Record<string, unknown>;
}

const SECRET_KEYS = /pass(word)?|secret|hash|token|^key$/i;

/** Drops anything that looks like a secret, and turns bigint/Date into JSON values. */
export function sanitizeAuditDetails(details: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(details)) {
    if (SECRET_KEYS.test(k)) continue;
    if (v === undefined) continue;
    if (typeof v === 'bigint') out[k] = Number(v);
    else if (v instanceof Date) out[k] = v.toISOString();
    else if (v && typeof v === 'object' && !Array.isArray(v)) out[k] = sanitizeAuditDetails(v as Record<string, unknown>);
    else out[k] = v;
  }
  return out;
}

/** The audit row of an entry and, for the actions in AUDIT_WEBHOOK_EVENTS, its webhook outbox event. */
function auditRecord(actor: Actor, entry: AuditEntry): { row: Prisma.AuditEventCreateManyInput; event: WebhookEventInput | null } {
  const p = actor.principal;
  const details = sanitizeAuditDetails(entry.details ?? {});
  return {
    row: {
      actorType: p.kind === 'user' ? (p.apiKey ? 'apiKey' : 'user') : p.kind,
      actorId: p.kind === 'user' ? p.userId : p.kind === 'mailbox' ? p.mailboxId : null,
      actorLabel: actorLabel(p),
      apiKeyId: p.kind === 'user' ? (p.apiKey?.id ?? null) : null,
      ownerId: entry.ownerId ?? null,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId ?? null,
      ip: actor.ip ?? null,
      details: details as Prisma.InputJsonValue,
    },
    event: webhookEventFromAudit({ ...entry, details }),
  };
}

/**
 * Writes an audit entry and, for the actions in AUDIT_WEBHOOK_EVENTS, its webhook outbox event, both through `db`: call
 * it with the change's transaction. Given the plain client, it writes the two in a transaction of their own.
 */
export async function recordAudit(db: Db, actor: Actor, entry: AuditEntry): Promise<void> {
  const { row, event } = auditRecord(actor, entry);
  const write = async (tx: Db) => {
    await tx.auditEvent.create({ data: row });
    if (event) await recordEvent(tx, event);
  };
  if (event && '$transaction' in db) await db.$transaction(write);
  else await write(db);
}

/**
 * recordAudit for many entries of one change (an import of thousands of mailboxes): the same rows and outbox events,
 * written with one multi-row INSERT each per chunk instead of two statements per entry. Call it with the transaction.
 */
export async function recordAuditMany(tx: Prisma.TransactionClient, actor: Actor, entries: readonly AuditEntry[]): Promise<void> {
  const records = entries.map((e) => auditRecord(actor, e));
  for (let i = 0; i < records.length; i += AUDIT_BATCH) {
    const chunk = records.slice(i, i + AUDIT_BATCH);
    await tx.auditEvent.createMany({ data: chunk.map((r) => r.row) });
    const events = chunk.flatMap((r) => (r.event ? [r.event] : []));
    if (events.length) await recordEvents(tx, events);
  }
}

/** Rows per multi-row INSERT of recordAuditMany. */
const AUDIT_BATCH = 1000;

export interface ListAuditEventsInput {
  limit: number;
  cursor?: string | undefined;
  actorId?: string | undefined;
  targetId?: string | undefined;
  targetType?: string | undefined;
  action?: string | undefined;
  ownerId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

type AuditRow = Prisma.AuditEventGetPayload<object>;

export function toAuditEventDto(r: AuditRow): AuditEvent {
  return {
    id: r.id,
    actorType: r.actorType,
    actorId: r.actorId,
    actorLabel: r.actorLabel,
    apiKeyId: r.apiKeyId,
    ownerId: r.ownerId,
    action: r.action,
    targetType: r.targetType,
    targetId: r.targetId,
    ip: r.ip,
    details: (r.details && typeof r.details === 'object' && !Array.isArray(r.details) ? r.details : {}) as Record<string, unknown>,
    createdAt: r.createdAt.toISOString(),
  };
}

/** Newest first. Owners see their own tenant's trail; an API key restricted to domains sees nothing else than those. */
export async function listAuditEvents(prisma: PrismaClient, actor: Actor, input: ListAuditEventsInput): Promise<Page<AuditEvent>> {
  const p = requireUser(actor, 'audit:read');
  const cursor = decodeCursor(input.cursor, ['id'] as const);
  const where: Prisma.AuditEventWhereInput = {};
  if (p.kind === 'user' && p.role !== 'ADMIN') where.ownerId = p.userId;
  else if (input.ownerId) where.ownerId = input.ownerId;
  if (p.kind === 'user' && p.apiKey?.domainIds.length) {
    // A domain-restricted key sees events about those domains and what lies under them.
    const domains = await prisma.domain.findMany({ where: visibleDomainWhere(p), select: { id: true } });
    where.OR = [{ targetId: { in: domains.map((d) => d.id) } }, ...domains.map((d) => ({ details: { path: ['domainId'], equals: d.id } }))];
  }
  if (input.actorId) where.actorId = input.actorId;
  if (input.targetId) where.targetId = input.targetId;
  if (input.targetType) where.targetType = input.targetType;
  if (input.action) where.action = input.action.endsWith('.') ? { startsWith: input.action } : input.action;
  if (input.from || input.to) {
    const from = input.from ? new Date(input.from) : undefined;
    const to = input.to ? new Date(input.to) : undefined;
    if (from && to && from > to)
      throw new AppError('VALIDATION_FAILED', '`from` is after `to`', {
        fields: [{ path: 'query.from', message: 'must not be after to' }],
      });
    where.createdAt = { ...(from ? { gte: from } : {}), ...(to ? { lt: to } : {}) };
  }
  if (cursor) where.id = { lt: assertUuidCursor(cursor.id) };
  const rows = await prisma.auditEvent.findMany({ where, orderBy: { id: 'desc' }, take: input.limit + 1 });
  return toPage(rows, input.limit, (r) => ({ id: r.id }), toAuditEventDto);
}
