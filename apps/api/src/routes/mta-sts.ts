import { z } from 'zod';
import { getDomainMtaSts, servedMtaStsPolicy, setDomainMtaSts } from '@mailroom/core';
import {
  domainMtaStsSchema,
  domainParamsSchema,
  mtaStsPolicyQuerySchema,
  problemSchema,
  setMtaStsBodySchema,
} from '@mailroom/core/schemas';
import { actorOf } from '../plugins/auth.ts';
import { problems, READ_SECURITY, WRITE_SECURITY, type RouteContext, type ZodApp } from './common.ts';

const tags = ['domains'];

/** A domain's MTA-STS mode (RFC 8461): read and set by its owner, admins and keys with the domains scopes. */
export async function mtaStsRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  app.get('/domains/:domainId/mta-sts', {
    schema: {
      tags,
      operationId: 'getDomainMtaSts',
      summary: 'The MTA-STS policy Mailroom serves for the domain, and the TXT record that announces it',
      params: domainParamsSchema,
      response: { 200: domainMtaStsSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => getDomainMtaSts(ctx.services, actorOf(req), req.params.domainId),
  });
  app.put('/domains/:domainId/mta-sts', {
    schema: {
      tags,
      operationId: 'setDomainMtaSts',
      summary: 'Set the MTA-STS mode: testing, enforce, none (withdrawing a policy), or null (not published)',
      description:
        'Audited `domain.mta-sts` with the previous and the new mode. enforce is checked against DNS first: 422 ' +
        'DNS_RECORD_MISSING without MX records, DNS_RECORD_MISMATCH when an MX record names another host (senders ' +
        'enforcing MTA-STS would refuse to deliver there), 503 DNS_UNAVAILABLE when the resolver fails. null while in ' +
        'enforce mode is 409 CONFLICT: set none first (RFC 8461 §8.3), and stop publishing after previousPolicyCachedUntil. ' +
        'The records to publish are in GET /domains/{id}/dns.',
      params: domainParamsSchema,
      body: setMtaStsBodySchema,
      response: { 200: domainMtaStsSchema, ...problems(409, 422, 503) },
      security: WRITE_SECURITY,
    },
    handler: async (req) => setDomainMtaSts(ctx.services, actorOf(req), req.params.domainId, req.body),
  });
}

/**
 * The public policy file. The panel answers `https://mta-sts.<domain>/.well-known/mta-sts.txt` with it, passing the
 * request's Host as `host`; senders fetch it without credentials (RFC 8461 §3.3) and must not follow redirects, so
 * this is a 200 with the policy or a 404.
 */
export async function publicMtaStsRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  app.get('/mta-sts/policy', {
    schema: {
      tags: ['autoconfig'],
      operationId: 'getMtaStsPolicy',
      summary: 'MTA-STS policy file (RFC 8461) of a hosted domain, by the Host senders asked',
      description:
        'Public. Served on the panel at `/.well-known/mta-sts.txt` for the host `mta-sts.<domain>`. text/plain, CRLF ' +
        'lines. 404 NOT_FOUND for any other host, a domain not hosted here (unknown, pending, disabled) or without an ' +
        'MTA-STS mode: the same answer for each.',
      querystring: mtaStsPolicyQuerySchema,
      produces: ['text/plain'],
      response: { 200: z.string().describe('The policy file'), 400: problemSchema, 404: problemSchema },
      security: [],
    },
    handler: async (req, reply) => {
      const policy = await servedMtaStsPolicy(ctx.services.prisma, ctx.services.onboarding, req.query.host);
      // short: a mode change is seen within minutes (senders re-fetch only when the TXT record's id changes)
      return reply.type('text/plain; charset=utf-8').header('cache-control', 'public, max-age=300').send(policy);
    },
  });
}
