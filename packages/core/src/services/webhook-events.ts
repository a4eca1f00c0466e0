import { createHmac } from 'node:crypto';
import { newId, type Prisma, type PrismaClient } from '@mailroom/db';
import type { WebhookEventType } from '../schemas/webhooks.ts';

type Db = PrismaClient | Prisma.TransactionClient;

export interface WebhookEventInput {
  type: WebhookEventType;
  /** Tenant (owner user id): its endpoints and administrators' receive the event; null = administrators only. */
  ownerId?: string | null;
  domainId?: string | null;
  /** Payload `data`: ids and non-secret values only. */
  data: Record<string, unknown>;
}

/**
 * Writes an event into the webhook outbox. Call it with the transaction of the change that causes the event: the event
 * then exists exactly when the change was committed. The worker's dispatcher delivers it to every matching endpoint.
 */
export async function recordEvent(tx: Db, input: WebhookEventInput): Promise<string> {
  const row = await tx.webhookEvent.create({
    data: { type: input.type, ownerId: input.ownerId ?? null, domainId: input.domainId ?? null, data: input.data as Prisma.InputJsonValue },
    select: { id: true },
  });
  return row.id;
}

/** recordEvent for many events of one change, in one multi-row INSERT (same transaction rule). */
export async function recordEvents(tx: Db, inputs: readonly WebhookEventInput[]): Promise<void> {
  await tx.webhookEvent.createMany({
    data: inputs.map((i) => ({
      type: i.type,
      ownerId: i.ownerId ?? null,
      domainId: i.domainId ?? null,
      data: i.data as Prisma.InputJsonValue,
    })),
  });
}

/** A raw PostgreSQL client (node-postgres `PoolClient`), for code whose transaction is not Prisma's (the ingress). */
export interface SqlClient {
  query(text: string, values: unknown[]): Promise<unknown>;
}

/**
 * recordEvent for a mailbox's event on a raw pg transaction (the ingress's delivery): the mailbox's domain and owner are
 * looked up in the same statement, so the event belongs to the tenant that owns the mailbox at commit time.
 */
export async function recordMailboxEventSql(
  client: SqlClient,
  type: WebhookEventType,
  mailboxId: string,
  data: Record<string, unknown>,
): Promise<void> {
  await client.query(
    `INSERT INTO webhook_events (id, type, owner_id, domain_id, data)
     SELECT $1::uuid, $2::text, d.owner_id, d.id,
            jsonb_build_object('mailboxId', m.id, 'domainId', d.id, 'ownerId', d.owner_id) || $4::jsonb
       FROM mailboxes m JOIN domains d ON d.id = m.domain_id WHERE m.id = $3::uuid`,
    [newId(), type, mailboxId, JSON.stringify(data)],
  );
}

/**
 * The one table from audit actions to webhook event types: every audited change listed here emits its event from
 * core `recordAudit`, in the same transaction. Audit actions missing here (logins, owners, aliases…) emit nothing.
 */
export const AUDIT_WEBHOOK_EVENTS: Readonly<Record<string, WebhookEventType>> = {
  'domain.create': 'domain.created',
  'domain.verified': 'domain.verified',
  'domain.update': 'domain.updated',
  'domain.enable': 'domain.enabled',
  'domain.disable': 'domain.disabled',
  'domain.delete': 'domain.deleted',
  'domain.claim_removed': 'domain.deleted',
  'domain.claim_expired': 'domain.deleted',
  'mailbox.create': 'mailbox.created',
  'mailbox.update': 'mailbox.updated',
  'mailbox.enable': 'mailbox.enabled',
  'mailbox.disable': 'mailbox.disabled',
  'mailbox.delete': 'mailbox.deleted',
  'mailbox.password.set': 'mailbox.password_changed',
  'mailbox.password.change': 'mailbox.password_changed',
  'mailbox.import': 'mailbox.import_completed',
  'api-key.create': 'api_key.created',
  'api-key.revoke': 'api_key.revoked',
};

/** The webhook event an audit entry causes (details already stripped of secrets), or null. */
export function webhookEventFromAudit(entry: {
  action: string;
  targetType: string;
  targetId?: string | null | undefined;
  ownerId?: string | null | undefined;
  details: Record<string, unknown>;
}): WebhookEventInput | null {
  const type = AUDIT_WEBHOOK_EVENTS[entry.action];
  if (!type) return null;
  const d = entry.details;
  const domainId = typeof d.domainId === 'string' ? d.domainId : entry.targetType === 'domain' ? (entry.targetId ?? null) : null;
  return {
    type,
    ownerId: entry.ownerId ?? null,
    domainId,
    data: { [`${entry.targetType.replace('-', '_')}Id`]: entry.targetId ?? null, ...d, ownerId: entry.ownerId ?? null },
  };
}

/** The JSON body of a delivery (Standard Webhooks shape): the same bytes for every attempt of an event. */
export function webhookPayload(event: { type: string; createdAt: Date; data: unknown }): string {
  return JSON.stringify({ type: event.type, timestamp: event.createdAt.toISOString(), data: event.data });
}

/** Standard Webhooks signature header value: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the secret's bytes. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}
