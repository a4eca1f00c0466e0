import {
  createDomain,
  deleteDomain,
  getDomain,
  getDomainDns,
  listDomains,
  summarizeDomains,
  updateDomain,
  verifyDomain,
} from '@mailroom/core';
import {
  createDomainBodySchema,
  deleteDomainQuerySchema,
  domainDnsQuerySchema,
  domainDnsSchema,
  domainPageSchema,
  domainParamsSchema,
  domainSchema,
  domainSummarySchema,
  listDomainsQuerySchema,
  updateDomainBodySchema,
  verifyDomainBodySchema,
} from '@mailroom/core/schemas';
import { actorOf } from '../plugins/auth.ts';
import { noContentSchema, problems, READ_SECURITY, WRITE_SECURITY, type RouteContext, type ZodApp } from './common.ts';

const tags = ['domains'];

export async function domainRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  app.post('/domains', {
    schema: {
      tags,
      operationId: 'createDomain',
      summary: 'Add a domain: a pending claim until verified (admins may name the owner, set limits, or pass verified: true)',
      description:
        'The name is converted with IDNA to lowercase punycode. The domain starts pending (nothing is hosted: mail is refused, ' +
        'mailboxes cannot sign in) with `verificationRecord`, a TXT record to publish, then POST /domains/{id}/verify. Pending ' +
        'claims of other owners do not block the name; the first to verify gets it. Unverified claims expire after ' +
        'DOMAIN_CLAIM_TTL_HOURS. `verified: true` (unrestricted admins only, else 403 FORBIDDEN with field code admin_only) ' +
        'creates it verified. 409 ALREADY_EXISTS when the name is hosted already or the owner already claims it. ' +
        'LIMIT_DOMAINS_EXCEEDED when the owner is at their domain limit (pending claims count). With `aliasOf` it is an ' +
        'alias domain (verified like any other): mail to name@it is delivered as to name@the target, which must be a ' +
        'verified domain of the same owner and not an alias itself (else 400 with field code unknown_domain, other_owner, ' +
        'alias_chain or target_pending). An alias domain has no mailboxes or aliases (409 DOMAIN_IS_ALIAS), and the ' +
        'settings of mailboxes (maxMailboxes, maxStorageBytes, defaultQuotaBytes, loginDelaySeconds, retentionDays, ' +
        'quotaWarningThresholds, greylisting) do not apply to it: a value other than null is 400 with field code alias_domain.',
      body: createDomainBodySchema,
      response: { 201: domainSchema, ...problems(409, 422) },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => reply.code(201).send(await createDomain(ctx.services, actorOf(req), req.body)),
  });
  app.get('/domains', {
    schema: {
      tags,
      operationId: 'listDomains',
      summary: 'List visible domains by name, with mailbox counts and usage',
      querystring: listDomainsQuerySchema,
      response: { 200: domainPageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listDomains(ctx.services.prisma, actorOf(req), req.query),
  });
  app.get('/domains/summary', {
    schema: {
      tags,
      operationId: 'summarizeDomains',
      summary: 'Counts over all visible domains: total, pending claims, MX needing attention (for dashboards; no 200-item cap)',
      response: { 200: domainSummarySchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => summarizeDomains(ctx.services.prisma, actorOf(req)),
  });
  app.get('/domains/:domainId', {
    schema: {
      tags,
      operationId: 'getDomain',
      summary: 'Get a domain',
      params: domainParamsSchema,
      response: { 200: domainSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => getDomain(ctx.services.prisma, actorOf(req), req.params.domainId),
  });
  app.post('/domains/:domainId/verify', {
    schema: {
      tags,
      operationId: 'verifyDomain',
      summary: 'Verify ownership: resolve the `_mailroom.<domain>` TXT record and activate the domain',
      description:
        'Looks up TXT `_mailroom.<domain>` with the configured resolver. When it holds `mailroom-verify=<token>` the domain ' +
        "becomes verified (audit `domain.verified`) and every other owner's pending claim for the name is removed " +
        '(audit `domain.claim_removed`). Otherwise the domain stays pending and the answer is 422 with code ' +
        'DNS_RECORD_MISSING (no TXT record at that name) or DNS_RECORD_MISMATCH (TXT records, but not this token), with ' +
        '`details.expected` and `details.found`. 503 DNS_UNAVAILABLE when the resolver fails or times out. 409 ' +
        'ALREADY_EXISTS when another owner verified the name first. A verified domain is returned unchanged.',
      params: domainParamsSchema,
      body: verifyDomainBodySchema,
      response: { 200: domainSchema, ...problems(409, 422, 503) },
      security: WRITE_SECURITY,
    },
    // No body at all (a bare POST from a button or curl) counts as `{}`; any JSON that is not an object is refused.
    preValidation: async (req) => {
      if (req.body == null && !req.headers['content-type']) req.body = {};
    },
    handler: async (req) => verifyDomain(ctx.services, actorOf(req), req.params.domainId),
  });
  app.get('/domains/:domainId/dns', {
    schema: {
      tags,
      operationId: 'getDomainDns',
      summary: 'DNS records to publish (MX, verification TXT, autoconfig CNAMEs, POP3 SRV, DMARC); ?check=true resolves them now',
      description:
        'Each record has its purpose, type, name, value and whether it is required. With check=true each is resolved with ' +
        'the configured resolver and `check` holds status ok / missing / different and what DNS answered. 503 ' +
        'DNS_UNAVAILABLE when the resolver fails.',
      params: domainParamsSchema,
      querystring: domainDnsQuerySchema,
      response: { 200: domainDnsSchema, ...problems(503) },
      security: READ_SECURITY,
    },
    handler: async (req) => getDomainDns(ctx.services, actorOf(req), req.params.domainId, { check: req.query.check }),
  });
  app.patch('/domains/:domainId', {
    schema: {
      tags,
      operationId: 'updateDomain',
      summary: 'Update a domain (active: false disables it)',
      description:
        "Admins transfer a domain with ownerId (its alias domains move with it and count toward the new owner's domain limit; an alias domain alone is refused with DOMAIN_IS_ALIAS): refused with ALIASES_CROSS_OWNERS (409, each link in details.links) while aliases link it to other domains of its owner, and with LIMIT_*_EXCEEDED / QUOTA_REQUIRED when the new owner's limits would not hold. maxStorageBytes below the quotas already handed out is LIMIT_STORAGE_EXCEEDED; while mailboxes have no quota, QUOTA_REQUIRED. " +
        'An alias domain is pointed at another verified domain of the same owner with aliasOf (the same field codes as ' +
        'at creation, and alias_self), or made a domain of its own with aliasOf: null. A domain that holds nothing ' +
        '(no mailboxes, aliases or alias domains; else 409 DOMAIN_NOT_EMPTY with the counts) becomes an alias domain with ' +
        'aliasOf: its settings of mailboxes are cleared; not together with a transfer (field code with_transfer), and ' +
        'an owner cannot convert a domain with limits an administrator set (403, field code admin_only). Mailbox ' +
        'settings on an alias domain are refused as at creation.',
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
      summary: 'Delete a domain (DOMAIN_NOT_EMPTY while mailboxes or alias domains exist unless force=true)',
      description: 'force=true deletes its mailboxes (their messages are lost) and the alias domains that point at it, each audited.',
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
