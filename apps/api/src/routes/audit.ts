import { listAuditEvents } from '@mailroom/core';
import { auditEventPageSchema, listAuditEventsQuerySchema } from '@mailroom/core/schemas';
import { actorOf } from '../plugins/auth.ts';
import { problems, READ_SECURITY, type RouteContext, type ZodApp } from './common.ts';

export async function auditRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  app.get('/audit-events', {
    schema: {
      tags: ['audit'],
      operationId: 'listAuditEvents',
      summary: 'Audit trail, newest first (owners: their own tenant)',
      querystring: listAuditEventsQuerySchema,
      response: { 200: auditEventPageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listAuditEvents(ctx.services.prisma, actorOf(req), req.query),
  });
}
