import { listMailboxSignIns } from '@mailroom/core';
import { listSignInsQuerySchema, mailboxParamsSchema, mailboxSignInPageSchema } from '@mailroom/core/schemas';
import { actorOf } from '../plugins/auth.ts';
import { problems, READ_SECURITY, type RouteContext, type ZodApp } from './common.ts';

export async function signInRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  app.get('/mailboxes/:mailboxId/sign-ins', {
    schema: {
      tags: ['mailboxes'],
      operationId: 'listMailboxSignIns',
      summary: "A mailbox's sign-in activity: POP3 and panel sign-ins and refusals (mailboxes:read; the mailbox user too)",
      description:
        'Newest first. Every attempt that reached the mailbox’s credentials, with its result; attempts for unknown addresses and those the throttle refused before checking the password are not listed. Filters: result (one result, or failed), service (pop3, panel), from/to (createdAt). Entries are kept SIGN_IN_LOG_RETENTION_DAYS days.',
      params: mailboxParamsSchema,
      querystring: listSignInsQuerySchema,
      response: { 200: mailboxSignInPageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listMailboxSignIns(ctx.services.prisma, actorOf(req), req.params.mailboxId, req.query),
  });
}
