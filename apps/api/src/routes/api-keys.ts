import { createApiKey, getApiKey, listApiKeys, revokeApiKey } from '@mailroom/core';
import {
  apiKeyPageSchema,
  apiKeyParamsSchema,
  apiKeySchema,
  createApiKeyBodySchema,
  createdApiKeySchema,
  listApiKeysQuerySchema,
} from '@mailroom/core/schemas';
import { actorOf } from '../plugins/auth.ts';
import { problems, READ_SECURITY, WRITE_SECURITY, type RouteContext, type ZodApp } from './common.ts';

const tags = ['api-keys'];

export async function apiKeyRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  app.post('/api-keys', {
    schema: {
      tags,
      operationId: 'createApiKey',
      summary: 'Create an API key (the secret is in this response only)',
      description:
        "A key never exceeds its creator: owners cannot hold owners:* scopes; a key creating a key passes on at most its own scopes, domains and expiry (FORBIDDEN otherwise). A write scope implies the read scope of its family. A key with domainIds reaches only those domains, with at most an owner's rights there: owners:* scopes are refused with SCOPE_NOT_ALLOWED.",
      body: createApiKeyBodySchema,
      response: { 201: createdApiKeySchema, ...problems(422) },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => reply.code(201).send(await createApiKey(ctx.services.prisma, actorOf(req), req.body)),
  });
  app.get('/api-keys', {
    schema: {
      tags,
      operationId: 'listApiKeys',
      summary: 'List your API keys (admins: ?userId= for another user; a domain-restricted key: itself only)',
      querystring: listApiKeysQuerySchema,
      response: { 200: apiKeyPageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listApiKeys(ctx.services.prisma, actorOf(req), req.query),
  });
  app.get('/api-keys/:apiKeyId', {
    schema: {
      tags,
      operationId: 'getApiKey',
      summary: 'Get an API key (never its secret)',
      params: apiKeyParamsSchema,
      response: { 200: apiKeySchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => getApiKey(ctx.services.prisma, actorOf(req), req.params.apiKeyId),
  });
  app.delete('/api-keys/:apiKeyId', {
    schema: {
      tags,
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key (immediate)',
      params: apiKeyParamsSchema,
      response: { 200: apiKeySchema, ...problems() },
      security: WRITE_SECURITY,
    },
    handler: async (req) => revokeApiKey(ctx.services.prisma, actorOf(req), req.params.apiKeyId),
  });
}
