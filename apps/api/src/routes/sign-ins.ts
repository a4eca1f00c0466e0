import { listMailboxSignIns, listOwnerSignIns, listOwnSignIns, listPasswordWarnings } from '@mailroom/core';
import {
  listSignInsQuerySchema,
  listUserSignInsQuerySchema,
  mailboxParamsSchema,
  mailboxSignInPageSchema,
  ownerParamsSchema,
  passwordWarningListSchema,
  userSignInPageSchema,
} from '@mailroom/core/schemas';
import { actorOf } from '../plugins/auth.ts';
import { problems, READ_SECURITY, type RouteContext, type ZodApp } from './common.ts';

const USER_LOG =
  'Newest first. Every panel sign-in step that reached the account’s credentials: the password (right, wrong, or right and a second step asked next), the second step (TOTP or recovery code, passkey: accepted or refused) and passwordless passkeys, with the client’s address and browser. Unknown emails and attempts the throttle refused before checking are not listed. Identical attempts within a day share one entry (attempts, lastAt). Filters: result (one result, or failed), from/to (createdAt). Entries are kept SIGN_IN_LOG_RETENTION_DAYS days.';

export async function signInRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  const { prisma } = ctx.services;
  app.get('/mailboxes/:mailboxId/sign-ins', {
    schema: {
      tags: ['mailboxes'],
      operationId: 'listMailboxSignIns',
      summary: "A mailbox's sign-in activity: POP3 and panel sign-ins and refusals (mailboxes:read; the mailbox user too)",
      description:
        'Newest first. Every attempt that reached the mailbox’s credentials, with its result; attempts for unknown addresses and those the throttle refused before checking the password are not listed. A mailbox user’s panel sign-ins list their second step too (TOTP or recovery code). Filters: result (one result, or failed), service (pop3, panel), from/to (createdAt). Entries are kept SIGN_IN_LOG_RETENTION_DAYS days.',
      params: mailboxParamsSchema,
      querystring: listSignInsQuerySchema,
      response: { 200: mailboxSignInPageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listMailboxSignIns(prisma, actorOf(req), req.params.mailboxId, req.query),
  });
  app.get('/auth/sign-ins', {
    schema: {
      tags: ['auth'],
      operationId: 'listOwnSignIns',
      summary: 'Your own panel sign-in activity (admins and owners, from a session; mailbox users read their mailbox’s)',
      description: USER_LOG,
      querystring: listUserSignInsQuerySchema,
      response: { 200: userSignInPageSchema, ...problems() },
      security: [{ sessionCookie: [] }],
    },
    handler: async (req) => listOwnSignIns(prisma, actorOf(req), req.query),
  });
  app.get('/owners/:ownerId/sign-ins', {
    schema: {
      tags: ['owners'],
      operationId: 'listOwnerSignIns',
      summary: "An owner's panel sign-in activity (admin, owners:read)",
      description: USER_LOG,
      params: ownerParamsSchema,
      querystring: listUserSignInsQuerySchema,
      response: { 200: userSignInPageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listOwnerSignIns(prisma, actorOf(req), req.params.ownerId, req.query),
  });
  app.get('/password-warnings', {
    schema: {
      tags: ['mailboxes'],
      operationId: 'listPasswordWarnings',
      summary: 'Accounts whose password someone else entered: a second step refused since the password last changed',
      description:
        'For dashboards and security tooling. Mailboxes of your domains (mailboxes:read) whose log has a wrong TOTP or recovery code after the right password in the last 30 days and after the password last changed; for administrators (owners:read) owners and admins too. Newest first, at most 100. Changing the password takes an account off the list.',
      response: { 200: passwordWarningListSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listPasswordWarnings(prisma, actorOf(req)),
  });
}
