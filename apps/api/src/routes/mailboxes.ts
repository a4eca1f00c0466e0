import { createMailbox, deleteMailbox, getMailbox, listMailboxes, setMailboxPassword, updateMailbox } from '@mailroom/core';
import {
  createMailboxBodySchema,
  domainParamsSchema,
  listMailboxesQuerySchema,
  mailboxPageSchema,
  mailboxParamsSchema,
  mailboxSchema,
  setMailboxPasswordBodySchema,
  updateMailboxBodySchema,
} from '@mailroom/core/schemas';
import { actorOf } from '../plugins/auth.ts';
import { noContentSchema, problems, READ_SECURITY, WRITE_SECURITY, type RouteContext, type ZodApp } from './common.ts';

const tags = ['mailboxes'];

export async function mailboxRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  app.post('/domains/:domainId/mailboxes', {
    schema: {
      tags,
      operationId: 'createMailbox',
      summary: 'Create a POP3 mailbox',
      description:
        'LIMIT_MAILBOXES_EXCEEDED / LIMIT_STORAGE_EXCEEDED at the owner or domain limit; QUOTA_REQUIRED for a mailbox without quota (null, and no domain default) under an owner or domain storage limit; PASSWORD_TOO_WEAK when the password policy refuses the password; ALREADY_EXISTS for a taken local part (case-insensitive).',
      params: domainParamsSchema,
      body: createMailboxBodySchema,
      response: { 201: mailboxSchema, ...problems(409, 422) },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => reply.code(201).send(await createMailbox(ctx.services, actorOf(req), req.params.domainId, req.body)),
  });
  app.get('/domains/:domainId/mailboxes', {
    schema: {
      tags,
      operationId: 'listMailboxes',
      summary: 'List mailboxes of a domain by local part, with search',
      params: domainParamsSchema,
      querystring: listMailboxesQuerySchema,
      response: { 200: mailboxPageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listMailboxes(ctx.services.prisma, actorOf(req), req.params.domainId, req.query),
  });
  app.get('/mailboxes/:mailboxId', {
    schema: {
      tags,
      operationId: 'getMailbox',
      summary: 'Get a mailbox with usage and message count',
      params: mailboxParamsSchema,
      response: { 200: mailboxSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => getMailbox(ctx.services.prisma, actorOf(req), req.params.mailboxId),
  });
  app.patch('/mailboxes/:mailboxId', {
    schema: {
      tags,
      operationId: 'updateMailbox',
      summary: 'Update display name, quota or enabled',
      params: mailboxParamsSchema,
      body: updateMailboxBodySchema,
      response: { 200: mailboxSchema, ...problems(422) },
      security: WRITE_SECURITY,
    },
    handler: async (req) => updateMailbox(ctx.services, actorOf(req), req.params.mailboxId, req.body),
  });
  app.delete('/mailboxes/:mailboxId', {
    schema: {
      tags,
      operationId: 'deleteMailbox',
      summary: 'Delete a mailbox and all its messages',
      params: mailboxParamsSchema,
      response: { 204: noContentSchema, ...problems() },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => {
      await deleteMailbox(ctx.services, actorOf(req), req.params.mailboxId);
      return reply.code(204).send(null);
    },
  });
  app.put('/mailboxes/:mailboxId/password', {
    schema: {
      tags,
      operationId: 'setMailboxPassword',
      summary: "Reset a mailbox's password",
      params: mailboxParamsSchema,
      body: setMailboxPasswordBodySchema,
      response: { 204: noContentSchema, ...problems(422) },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => {
      await setMailboxPassword(ctx.services, actorOf(req), req.params.mailboxId, req.body.password);
      return reply.code(204).send(null);
    },
  });
}
