import { listDomainDeliveryLog, listMailboxDeliveryLog, listQuotaWarnings } from '@mailroom/core';
import {
  deliveryLogPageSchema,
  domainParamsSchema,
  listDeliveryLogQuerySchema,
  listQuotaWarningsQuerySchema,
  mailboxParamsSchema,
  quotaWarningMailboxPageSchema,
} from '@mailroom/core/schemas';
import { actorOf } from '../plugins/auth.ts';
import { problems, READ_SECURITY, type RouteContext, type ZodApp } from './common.ts';

const tags = ['delivery-log'];
const filters =
  'Newest first. Filters: result (delivered, refused, deferred), sender and recipient (contains, case-insensitive), from/to (createdAt).';

export async function deliveryLogRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  app.get('/domains/:domainId/delivery-log', {
    schema: {
      tags,
      operationId: 'listDomainDeliveryLog',
      summary: "A domain's delivery log: every recipient outcome at the ingress (domains:read)",
      description: `${filters} Entries are kept DELIVERY_LOG_RETENTION_DAYS days.`,
      params: domainParamsSchema,
      querystring: listDeliveryLogQuerySchema,
      response: { 200: deliveryLogPageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listDomainDeliveryLog(ctx.services.prisma, actorOf(req), req.params.domainId, req.query),
  });
  app.get('/mailboxes/:mailboxId/delivery-log', {
    schema: {
      tags,
      operationId: 'listMailboxDeliveryLog',
      summary: "A mailbox's delivery log: copies stored into it and refusals for it (mailboxes:read)",
      description: filters,
      params: mailboxParamsSchema,
      querystring: listDeliveryLogQuerySchema,
      response: { 200: deliveryLogPageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listMailboxDeliveryLog(ctx.services.prisma, actorOf(req), req.params.mailboxId, req.query),
  });
  app.get('/quota-warnings', {
    schema: {
      tags,
      operationId: 'listQuotaWarnings',
      summary: 'Mailboxes at or above a quota warning threshold, fullest first (mailboxes:read)',
      querystring: listQuotaWarningsQuerySchema,
      response: { 200: quotaWarningMailboxPageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listQuotaWarnings(ctx.services.prisma, actorOf(req), req.query),
  });
}
