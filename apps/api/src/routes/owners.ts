import { createOwner, deleteOwner, getOwner, listOwners, updateOwner } from '@mailroom/core';
import {
  createOwnerBodySchema,
  deleteOwnerQuerySchema,
  listOwnersQuerySchema,
  ownerPageSchema,
  ownerParamsSchema,
  ownerSchema,
  updateOwnerBodySchema,
} from '@mailroom/core/schemas';
import { actorOf } from '../plugins/auth.ts';
import { noContentSchema, problems, READ_SECURITY, WRITE_SECURITY, type RouteContext, type ZodApp } from './common.ts';

const tags = ['owners'];

export async function ownerRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  app.post('/owners', {
    schema: {
      tags,
      operationId: 'createOwner',
      summary: 'Create an owner with limits (admin)',
      body: createOwnerBodySchema,
      response: { 201: ownerSchema, ...problems(409, 422) },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => reply.code(201).send(await createOwner(ctx.services, actorOf(req), req.body)),
  });
  app.get('/owners', {
    schema: {
      tags,
      operationId: 'listOwners',
      summary: 'List owners by email (admin)',
      querystring: listOwnersQuerySchema,
      response: { 200: ownerPageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listOwners(ctx.services.prisma, actorOf(req), req.query),
  });
  app.get('/owners/:ownerId', {
    schema: {
      tags,
      operationId: 'getOwner',
      summary: 'Get an owner with usage (admin)',
      params: ownerParamsSchema,
      response: { 200: ownerSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => getOwner(ctx.services.prisma, actorOf(req), req.params.ownerId),
  });
  app.patch('/owners/:ownerId', {
    schema: {
      tags,
      operationId: 'updateOwner',
      summary: 'Update an owner: email, password, limits, disabled (admin)',
      description:
        'Setting `disabled: true` disables the owner: sign-in, sessions, API keys, and the POP3/ingress service of all their domains stop. Setting `password` ends every session of the owner and revokes every API key of theirs (audited as owner.password.reset). Setting `maxStorageBytes` below the quotas already handed out is LIMIT_STORAGE_EXCEEDED; while mailboxes have no quota, QUOTA_REQUIRED.',
      params: ownerParamsSchema,
      body: updateOwnerBodySchema,
      response: { 200: ownerSchema, ...problems(409, 422) },
      security: WRITE_SECURITY,
    },
    handler: async (req) => updateOwner(ctx.services, actorOf(req), req.params.ownerId, req.body),
  });
  app.delete('/owners/:ownerId', {
    schema: {
      tags,
      operationId: 'deleteOwner',
      summary: 'Delete an owner (OWNER_NOT_EMPTY while domains exist unless force=true)',
      params: ownerParamsSchema,
      querystring: deleteOwnerQuerySchema,
      response: { 204: noContentSchema, ...problems(409) },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => {
      await deleteOwner(ctx.services, actorOf(req), req.params.ownerId, { force: req.query.force });
      return reply.code(204).send(null);
    },
  });
}
