import type { Prisma, PrismaClient } from '@mailroom/db';
import { AppError } from '../errors.ts';
import type {
  CreatedWebhookEndpoint,
  CreateWebhookEndpointBody,
  UpdateWebhookEndpointBody,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEventType,
} from '../schemas/webhooks.ts';
import type { ApiKeyScope } from '../schemas/common.ts';
import { assertWebhookUrl } from '../webhook-guard.ts';
import { recordAudit } from './audit.ts';
import { assertUuidCursor, decodeCursor, toPage, type Page } from './pagination.ts';
import { isAdmin, isDomainRestricted, requireUser, type Actor, type UserPrincipal } from './principal.ts';
import { iso, notFound } from './shared.ts';
import { encryptWebhookSecret, generateWebhookSecret } from './webhook-secrets.ts';

/** What the webhook endpoint services need; the API builds it once. */
export interface WebhookServiceDeps {
  prisma: PrismaClient;
  /** Server secret: the signing secrets are stored encrypted under a key derived from it. */
  secret: string;
  /** WEBHOOK_ALLOW_PRIVATE. */
  allowPrivate: boolean;
  /** Resolver for the registration check (default: the system's). */
  lookup?: (host: string) => Promise<string[]>;
}

/** Most attempts listed with each delivery. */
const ATTEMPTS_PER_DELIVERY = 20;

type EndpointRow = Prisma.WebhookEndpointGetPayload<object>;

function toEndpointDto(r: EndpointRow): WebhookEndpoint {
  return {
    id: r.id,
    userId: r.userId,
    url: r.url,
    description: r.description,
    eventTypes: r.eventTypes as WebhookEventType[],
    enabled: r.enabled,
    disabledReason: r.disabledReason === 'manual' || r.disabledReason === 'failing' ? r.disabledReason : null,
    disabledAt: iso(r.disabledAt),
    consecutiveFailures: r.consecutiveFailures,
    failingSince: iso(r.failingSince),
    createdAt: r.createdAt.toISOString(),
  };
}

/** Webhooks belong to a user: a domain-restricted key (it reaches only listed domains) cannot manage them. */
function requireWebhookUser(actor: Actor, scope: ApiKeyScope): UserPrincipal {
  const p = requireUser(actor, scope);
  if (p.kind !== 'user') throw new AppError('FORBIDDEN', 'Webhook endpoints belong to a user; the operator CLI cannot register them');
  if (isDomainRestricted(p)) throw new AppError('FORBIDDEN', 'This API key is restricted to listed domains and cannot manage webhooks');
  return p;
}

function visibleWhere(p: UserPrincipal): Prisma.WebhookEndpointWhereInput {
  return isAdmin(p) ? {} : { userId: p.userId };
}

async function findVisibleEndpoint(db: PrismaClient | Prisma.TransactionClient, p: UserPrincipal, id: string): Promise<EndpointRow> {
  const row = await db.webhookEndpoint.findFirst({ where: { id, ...visibleWhere(p) } });
  if (!row) throw notFound('Webhook endpoint');
  return row;
}

const tenantOf = (userRole: string, userId: string) => (userRole === 'OWNER' ? userId : null);

/** Registers an endpoint; the signing secret (generated unless supplied) is in this result only. */
export async function createWebhookEndpoint(
  deps: WebhookServiceDeps,
  actor: Actor,
  input: CreateWebhookEndpointBody,
): Promise<CreatedWebhookEndpoint> {
  const p = requireWebhookUser(actor, 'webhooks:write');
  const url = await assertWebhookUrl(input.url, deps);
  const secret = input.secret ?? generateWebhookSecret();
  const eventTypes = [...new Set(input.eventTypes)];
  const row = await deps.prisma.$transaction(async (tx) => {
    const created = await tx.webhookEndpoint.create({
      data: {
        userId: p.userId,
        url: url.href,
        description: input.description ?? '',
        eventTypes,
        secretEncrypted: encryptWebhookSecret(secret, deps.secret),
      },
    });
    await recordAudit(tx, actor, {
      action: 'webhook.create',
      targetType: 'webhook',
      targetId: created.id,
      ownerId: tenantOf(p.role, p.userId),
      details: { url: created.url, eventTypes },
    });
    return created;
  });
  return { ...toEndpointDto(row), secret };
}

export async function listWebhookEndpoints(
  prisma: PrismaClient,
  actor: Actor,
  input: { limit: number; cursor?: string | undefined; userId?: string | undefined },
): Promise<Page<WebhookEndpoint>> {
  const p = requireWebhookUser(actor, 'webhooks:read');
  const cursor = decodeCursor(input.cursor, ['id'] as const);
  const where: Prisma.WebhookEndpointWhereInput = { ...visibleWhere(p) };
  if (input.userId && isAdmin(p)) where.userId = input.userId;
  if (cursor) where.id = { lt: assertUuidCursor(cursor.id) };
  const rows = await prisma.webhookEndpoint.findMany({ where, orderBy: { id: 'desc' }, take: input.limit + 1 });
  return toPage(rows, input.limit, (r) => ({ id: r.id }), toEndpointDto);
}

export async function getWebhookEndpoint(prisma: PrismaClient, actor: Actor, id: string): Promise<WebhookEndpoint> {
  return toEndpointDto(await findVisibleEndpoint(prisma, requireWebhookUser(actor, 'webhooks:read'), id));
}

/** Changes URL, events, description or the switch; enabling again clears the failure state. */
export async function updateWebhookEndpoint(
  deps: WebhookServiceDeps,
  actor: Actor,
  id: string,
  input: UpdateWebhookEndpointBody,
): Promise<WebhookEndpoint> {
  const p = requireWebhookUser(actor, 'webhooks:write');
  const current = await findVisibleEndpoint(deps.prisma, p, id);
  const url = input.url === undefined ? undefined : (await assertWebhookUrl(input.url, deps)).href;
  const data: Prisma.WebhookEndpointUpdateInput = {
    url,
    description: input.description,
    eventTypes: input.eventTypes ? [...new Set(input.eventTypes)] : undefined,
  };
  if (input.enabled === true && !current.enabled)
    Object.assign(data, { enabled: true, disabledReason: null, disabledAt: null, consecutiveFailures: 0, failingSince: null });
  if (input.enabled === false && current.enabled) Object.assign(data, { enabled: false, disabledReason: 'manual', disabledAt: new Date() });
  const row = await deps.prisma.$transaction(async (tx) => {
    const updated = await tx.webhookEndpoint.update({ where: { id }, data });
    const action =
      input.enabled === false && current.enabled
        ? 'webhook.disable'
        : input.enabled === true && !current.enabled
          ? 'webhook.enable'
          : 'webhook.update';
    const ownerId = current.userId === p.userId ? tenantOf(p.role, p.userId) : await ownerTenant(tx, current.userId);
    await recordAudit(tx, actor, {
      action,
      targetType: 'webhook',
      targetId: id,
      ownerId,
      details: { url, eventTypes: input.eventTypes, description: input.description, enabled: input.enabled },
    });
    return updated;
  });
  return toEndpointDto(row);
}

async function ownerTenant(tx: Prisma.TransactionClient, userId: string): Promise<string | null> {
  const u = await tx.user.findUnique({ where: { id: userId }, select: { role: true } });
  return u ? tenantOf(u.role, userId) : null;
}

/** Removes an endpoint with its deliveries and attempts (queued retries find nothing and end). */
export async function deleteWebhookEndpoint(prisma: PrismaClient, actor: Actor, id: string): Promise<void> {
  const p = requireWebhookUser(actor, 'webhooks:write');
  const current = await findVisibleEndpoint(prisma, p, id);
  await prisma.$transaction(async (tx) => {
    await tx.webhookEndpoint.delete({ where: { id } });
    await recordAudit(tx, actor, {
      action: 'webhook.delete',
      targetType: 'webhook',
      targetId: id,
      ownerId: await ownerTenant(tx, current.userId),
      details: { url: current.url },
    });
  });
}

type DeliveryRow = Prisma.WebhookDeliveryGetPayload<{ include: { event: { select: { type: true } }; attempts: true } }>;

function toDeliveryDto(r: DeliveryRow): WebhookDelivery {
  return {
    id: r.id,
    endpointId: r.endpointId,
    eventId: r.eventId,
    eventType: r.event.type,
    status: r.status as WebhookDelivery['status'],
    attemptCount: r.attemptCount,
    lastStatusCode: r.lastStatusCode,
    lastAttemptAt: iso(r.lastAttemptAt),
    redeliverRequestedAt: iso(r.redeliverRequestedAt),
    createdAt: r.createdAt.toISOString(),
    attempts: r.attempts.map((a) => ({
      id: a.id,
      startedAt: a.startedAt.toISOString(),
      durationMs: a.durationMs,
      statusCode: a.statusCode,
      error: a.error,
      responseBody: a.responseBody,
    })),
  };
}

const deliveryInclude = {
  event: { select: { type: true } },
  attempts: { orderBy: { id: 'desc' }, take: ATTEMPTS_PER_DELIVERY },
} as const satisfies Prisma.WebhookDeliveryInclude;

/** An endpoint's deliveries, newest first, each with its latest attempts (status codes, errors, response starts). */
export async function listWebhookDeliveries(
  prisma: PrismaClient,
  actor: Actor,
  endpointId: string,
  input: { limit: number; cursor?: string | undefined; eventId?: string | undefined; status?: WebhookDelivery['status'] | undefined },
): Promise<Page<WebhookDelivery>> {
  const p = requireWebhookUser(actor, 'webhooks:read');
  await findVisibleEndpoint(prisma, p, endpointId);
  const cursor = decodeCursor(input.cursor, ['id'] as const);
  const where: Prisma.WebhookDeliveryWhereInput = { endpointId };
  if (input.eventId) where.eventId = input.eventId;
  if (input.status) where.status = input.status;
  if (cursor) where.id = { lt: assertUuidCursor(cursor.id) };
  const rows = await prisma.webhookDelivery.findMany({ where, orderBy: { id: 'desc' }, take: input.limit + 1, include: deliveryInclude });
  return toPage(rows, input.limit, (r) => ({ id: r.id }), toDeliveryDto);
}

/**
 * Asks for one more delivery of an event to this endpoint (same event id and body, fresh signature). The worker's
 * dispatcher queues it within seconds; an attempt already running is not duplicated.
 */
export async function redeliverWebhook(
  prisma: PrismaClient,
  actor: Actor,
  endpointId: string,
  deliveryId: string,
): Promise<WebhookDelivery> {
  const p = requireWebhookUser(actor, 'webhooks:write');
  const endpoint = await findVisibleEndpoint(prisma, p, endpointId);
  if (!endpoint.enabled) throw new AppError('CONFLICT', 'The endpoint is disabled: enable it first');
  return prisma.$transaction(async (tx) => {
    const found = await tx.webhookDelivery.updateMany({
      where: { id: deliveryId, endpointId },
      data: { redeliverRequestedAt: new Date(), status: 'pending' },
    });
    if (found.count === 0) throw notFound('Webhook delivery');
    await recordAudit(tx, actor, {
      action: 'webhook.redeliver',
      targetType: 'webhook',
      targetId: endpointId,
      ownerId: await ownerTenant(tx, endpoint.userId),
      details: { deliveryId },
    });
    return toDeliveryDto(await tx.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId }, include: deliveryInclude }));
  });
}
