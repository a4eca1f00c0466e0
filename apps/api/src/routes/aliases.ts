import { createAlias, deleteAlias, getAlias, listAliases, updateAlias } from '@mailroom/core';
import {
  aliasPageSchema,
  aliasParamsSchema,
  aliasSchema,
  createAliasBodySchema,
  domainParamsSchema,
  listAliasesQuerySchema,
  updateAliasBodySchema,
} from '@mailroom/core/schemas';
import { actorOf } from '../plugins/auth.ts';
import { noContentSchema, problems, READ_SECURITY, WRITE_SECURITY, type RouteContext, type ZodApp } from './common.ts';

const tags = ['aliases'];

export async function aliasRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  app.post('/domains/:domainId/aliases', {
    schema: {
      tags,
      operationId: 'createAlias',
      summary: 'Create an alias (localPart null: catch-all) delivering to internal mailboxes',
      params: domainParamsSchema,
      body: createAliasBodySchema,
      response: { 201: aliasSchema, ...problems(409) },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => reply.code(201).send(await createAlias(ctx.services, actorOf(req), req.params.domainId, req.body)),
  });
  app.get('/domains/:domainId/aliases', {
    schema: {
      tags,
      operationId: 'listAliases',
      summary: 'List aliases of a domain',
      params: domainParamsSchema,
      querystring: listAliasesQuerySchema,
      response: { 200: aliasPageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listAliases(ctx.services.prisma, actorOf(req), req.params.domainId, req.query),
  });
  app.get('/aliases/:aliasId', {
    schema: {
      tags,
      operationId: 'getAlias',
      summary: 'Get an alias',
      params: aliasParamsSchema,
      response: { 200: aliasSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => getAlias(ctx.services.prisma, actorOf(req), req.params.aliasId),
  });
  app.patch('/aliases/:aliasId', {
    schema: {
      tags,
      operationId: 'updateAlias',
      summary: 'Update an alias (destinations are replaced)',
      params: aliasParamsSchema,
      body: updateAliasBodySchema,
      response: { 200: aliasSchema, ...problems(409) },
      security: WRITE_SECURITY,
    },
    handler: async (req) => updateAlias(ctx.services, actorOf(req), req.params.aliasId, req.body),
  });
  app.delete('/aliases/:aliasId', {
    schema: {
      tags,
      operationId: 'deleteAlias',
      summary: 'Delete an alias',
      params: aliasParamsSchema,
      response: { 204: noContentSchema, ...problems() },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => {
      await deleteAlias(ctx.services, actorOf(req), req.params.aliasId);
      return reply.code(204).send(null);
    },
  });
}
