import {
  createAppPassword,
  listAppPasswords,
  revokeAppPassword,
  setDomainAppPasswordPolicy,
  setMailboxAppPasswordPolicy,
} from '@mailroom/core';
import {
  appPasswordListSchema,
  appPasswordParamsSchema,
  appPasswordPolicyBodySchema,
  createAppPasswordBodySchema,
  createdAppPasswordSchema,
  domainParamsSchema,
  mailboxParamsSchema,
} from '@mailroom/core/schemas';
import { z } from 'zod';
import { actorOf } from '../plugins/auth.ts';
import { noContentSchema, problems, READ_SECURITY, WRITE_SECURITY, type RouteContext, type ZodApp } from './common.ts';

const tags = ['app-passwords'];
const WHO = 'Owners and admins (scope mailboxes:read/write) for mailboxes they can see; a mailbox user for their own mailbox.';

/** POP3 app passwords of a mailbox, and the per-mailbox and per-domain "app passwords only" policy. */
export async function appPasswordRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  const { prisma, hasher } = ctx.services;
  const policy = { requireAppPasswordsDefault: ctx.config.requireAppPasswordsDefault };
  app.get('/mailboxes/:mailboxId/app-passwords', {
    schema: {
      tags,
      operationId: 'listAppPasswords',
      summary: "A mailbox's POP3 app passwords (never the passwords) and its app-password policy",
      description: WHO,
      params: mailboxParamsSchema,
      response: { 200: appPasswordListSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listAppPasswords(prisma, actorOf(req), req.params.mailboxId, policy),
  });
  app.post('/mailboxes/:mailboxId/app-passwords', {
    schema: {
      tags,
      operationId: 'createAppPassword',
      summary: 'Create a named POP3 app password (the password is in this response only)',
      description: `${WHO} Names are unique per mailbox (ALREADY_EXISTS); at most 20 per mailbox (CONFLICT).`,
      params: mailboxParamsSchema,
      body: createAppPasswordBodySchema,
      response: { 201: createdAppPasswordSchema, ...problems(409, 422) },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) =>
      reply.code(201).send(await createAppPassword({ prisma, hasher }, actorOf(req), req.params.mailboxId, req.body)),
  });
  app.delete('/mailboxes/:mailboxId/app-passwords/:appPasswordId', {
    schema: {
      tags,
      operationId: 'revokeAppPassword',
      summary: 'Revoke one app password: its device is refused at its next POP3 login; an open session keeps its snapshot',
      description: WHO,
      params: appPasswordParamsSchema,
      response: { 204: noContentSchema, ...problems() },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => {
      await revokeAppPassword(prisma, actorOf(req), req.params.mailboxId, req.params.appPasswordId);
      return reply.code(204).send(null);
    },
  });
  app.put('/mailboxes/:mailboxId/app-password-policy', {
    schema: {
      tags,
      operationId: 'setMailboxAppPasswordPolicy',
      summary: 'Require app passwords for POP3 on this mailbox (true), allow the main password (false), or inherit (null)',
      description:
        `${WHO} Owners, admins and keys set the mailbox's setting (requiredForPop3): a true on the mailbox or its domain ` +
        'requires app passwords; the main password then signs in to self-service only. A mailbox user sets only their own ' +
        'opt-in (userRequiredForPop3): true requires app passwords, false or null withdraws the opt-in; it never allows the ' +
        'main password where the mailbox setting, the domain or the operator default (POP3_REQUIRE_APP_PASSWORDS) requires ' +
        'app passwords (effectiveRequiredForPop3 in the answer says what POP3 applies).',
      params: mailboxParamsSchema,
      body: appPasswordPolicyBodySchema,
      response: { 200: appPasswordListSchema, ...problems(422) },
      security: WRITE_SECURITY,
    },
    handler: async (req) => setMailboxAppPasswordPolicy(prisma, actorOf(req), req.params.mailboxId, req.body, policy),
  });
  app.put('/domains/:domainId/app-password-policy', {
    schema: {
      tags,
      operationId: 'setDomainAppPasswordPolicy',
      summary:
        "Require app passwords for POP3 on the domain's mailboxes (true), allow main passwords (false), or use the operator default (null)",
      params: domainParamsSchema,
      body: appPasswordPolicyBodySchema,
      response: { 200: z.object({ requiredForPop3: z.boolean().nullable() }), ...problems(422) },
      security: WRITE_SECURITY,
    },
    handler: async (req) => setDomainAppPasswordPolicy(prisma, actorOf(req), req.params.domainId, req.body),
  });
}
