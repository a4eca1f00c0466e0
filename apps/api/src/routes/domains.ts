import { createDomain, deleteDomain, getDomain, listDomains, updateDomain } from '@mailroom/core';
import { createDomainBodySchema, deleteDomainQuerySchema, domainPageSchema, domainParamsSchema, domainSchema, listDomainsQuerySchema, updateDomainBodySchema } from '@mailroom/core/schemas';
import { actorOf } from '../plugins/auth.ts';
import { noContentSchema, problems, READ_SECURITY, WRITE_SECURITY, type RouteContext, type ZodApp } from './common.ts';

const tags = ['domains'];

export async function domainRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  app.post('/domains', {
    schema: {
      tags,
      operationId: 'createDomain',
      summary: 'Add a domain (admins may name the owner and set limits)',
      description: 'The name is converted with IDNA to lowercase punycode. LIMIT_DOMAINS_EXCEEDED when the owner is at their domain limit.',
      body: createDomainBodySchema,
      response: { 201: domainSchema, ...problems(409, 422) },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => reply.code(201).send(await createDomain(ctx.services, actorOf(req), req.body)),
  });
  app.get('/domains', {
    schema: { tags, operationId: 'listDomains', summary: 'List visible domains by name, with mailbox counts and usage', querystring: listDomainsQuerySchema, response: { 200: domainPageSchema, ...problems() }, security: READ_SECURITY },
    handler: async (req) => listDomains(ctx.services.prisma, actorOf(req), req.query),
  });
  app.get('/domains/:domainId', {
    schema: { tags, operationId: 'getDomain', summary: 'Get a domain', params: domainParamsSchema, response: { 200: domainSchema, ...problems() }, security: READ_SECURITY },
    handler: async (req) => getDomain(ctx.services.prisma, actorOf(req), req.params.domainId),
  });
  app.patch('/domains/:domainId', {
    schema: {
      tags,
      operationId: 'updateDomain',
      summary: 'Update a domain (active: false disables it)',
      description:
        'Admins transfer a domain with ownerId: refused with ALIASES_CROSS_OWNERS (409, each link in details.links) while aliases link it to other domains of its owner, and with LIMIT_*_EXCEEDED / QUOTA_REQUIRED when the new owner\'s limits would not hold. maxStorageBytes below the quotas already handed out is LIMIT_STORAGE_EXCEEDED; while mailboxes have no quota, QUOTA_REQUIRED.',
      params: domainParamsSchema,
      body: updateDomainBodySchema,
      response: { 200: domainSchema, ...problems(409, 422) },
      security: WRITE_SECURITY,
    },
    handler: async (req) => updateDomain(ctx.services, actorOf(req), req.params.domainId, req.body),
  });
  app.delete('/domains/:domainId', {
    schema: {
      tags,
      operationId: 'deleteDomain',
      summary: 'Delete a domain (DOMAIN_NOT_EMPTY while mailboxes exist unless force=true)',
      params: domainParamsSchema,
      querystring: deleteDomainQuerySchema,
      response: { 204: noContentSchema, ...problems(409) },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => {
      await deleteDomain(ctx.services, actorOf(req), req.params.domainId, { force: req.query.force });
      return reply.code(204).send(null);
    },
  });
}
