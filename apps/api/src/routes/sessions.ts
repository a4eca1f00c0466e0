import { listOwnSessions, revokeOtherSessions, revokeOwnSession } from '@mailroom/core';
import { revokedSessionsSchema, sessionListSchema, sessionParamsSchema } from '@mailroom/core/schemas';
import { actorOf } from '../plugins/auth.ts';
import { noContentSchema, problems, type RouteContext, type ZodApp } from './common.ts';

const tags = ['auth'];
/** Sessions are managed from a session (an API key gets 403). */
const SESSION_READ = [{ sessionCookie: [] }];
const SESSION_WRITE = [{ sessionCookie: [], csrfToken: [] }];

/** The signed-in principal's panel sessions: list, end one, end all others. */
export async function sessionRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  const { prisma } = ctx.services;
  app.get('/auth/sessions', {
    schema: {
      tags,
      operationId: 'listSessions',
      summary: 'Your active panel sessions: device, address, created, last seen (updated at most once a minute)',
      response: { 200: sessionListSchema, ...problems() },
      security: SESSION_READ,
    },
    handler: async (req) => listOwnSessions(prisma, actorOf(req)),
  });
  app.delete('/auth/sessions/:sessionId', {
    schema: {
      tags,
      operationId: 'revokeSession',
      summary: 'End one of your sessions (ending the current one signs you out)',
      params: sessionParamsSchema,
      response: { 204: noContentSchema, ...problems() },
      security: SESSION_WRITE,
    },
    handler: async (req, reply) => {
      await revokeOwnSession(prisma, actorOf(req), req.params.sessionId);
      return reply.code(204).send(null);
    },
  });
  app.post('/auth/sessions/revoke-others', {
    schema: {
      tags,
      operationId: 'revokeOtherSessions',
      summary: 'End every session of yours but this one',
      response: { 200: revokedSessionsSchema, ...problems() },
      security: SESSION_WRITE,
    },
    handler: async (req) => ({ revoked: await revokeOtherSessions(prisma, actorOf(req)) }),
  });
}
