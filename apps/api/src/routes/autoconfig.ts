import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  buildAutodiscoverResponse,
  buildThunderbirdConfig,
  getMailboxProfile,
  MAX_AUTODISCOVER_REQUEST_BYTES,
  MOBILECONFIG_CONTENT_TYPE,
  parseAutodiscoverRequest,
  resolveAutoconfigAddress,
  type MailboxProfile,
} from '@mailroom/core';
import {
  autoconfigQuerySchema,
  clientSettingsSchema,
  mailboxParamsSchema,
  mobileconfigBodySchema,
  problemSchema,
} from '@mailroom/core/schemas';
import { actorOf } from '../plugins/auth.ts';
import { problems, READ_SECURITY, WRITE_SECURITY, type RouteContext, type ZodApp } from './common.ts';

/** Public answers may be cached briefly by clients and proxies (they depend only on the domain). */
const PUBLIC_CACHE = 'public, max-age=300';
const XML_TYPES = ['text/xml', 'application/xml', 'text/plain'];
const publicProblems = { 400: problemSchema, 404: problemSchema };

function sendProfile(reply: FastifyReply, profile: MailboxProfile): FastifyReply {
  return reply
    .type(MOBILECONFIG_CONTENT_TYPE)
    .header('content-disposition', `attachment; filename="${profile.filename}"`)
    .send(profile.body);
}

/**
 * Unauthenticated client autoconfiguration (Thunderbird autoconfig, Outlook autodiscover) under /api, outside /api/v1
 * (no credentials are read there: Outlook may send Basic credentials the API does not take). The panel maps the
 * well-known paths onto these (apps/web/proxy.ts), so autoconfig.<domain> and autodiscover.<domain> can point at it.
 */
export async function publicAutoconfigRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  // Outlook posts text/xml; a body is read as a string, at most MAX_AUTODISCOVER_REQUEST_BYTES (413 beyond).
  app.addContentTypeParser(XML_TYPES, { parseAs: 'string', bodyLimit: MAX_AUTODISCOVER_REQUEST_BYTES }, (_req, body, done) =>
    done(null, body),
  );

  app.get('/autoconfig/mail/config-v1.1.xml', {
    schema: {
      tags: ['autoconfig'],
      operationId: 'getThunderbirdAutoconfig',
      summary: 'Thunderbird autoconfig (clientConfig 1.1) for an address of a hosted domain',
      description:
        'Public. Served on the panel at `/.well-known/autoconfig/mail/config-v1.1.xml` and `/mail/config-v1.1.xml`. POP3 on the public POP3S port (SSL) and POP3 with STARTTLS; the username is `%EMAILADDRESS%` (for an alias domain `%EMAILLOCALPART%@<its target>`: mailboxes sign in with their target address). 404 NOT_FOUND for a domain not hosted here; the answer never depends on the local part. 400 VALIDATION_FAILED (`invalid_address`) for a missing or invalid `emailaddress`.',
      querystring: autoconfigQuerySchema,
      produces: ['application/xml'],
      response: { 200: z.string().describe('clientConfig XML'), ...publicProblems },
      security: [],
    },
    handler: async (req, reply) => {
      const address = await resolveAutoconfigAddress(ctx.services.prisma, req.query.emailaddress, 'query.emailaddress');
      return reply
        .type('application/xml; charset=utf-8')
        .header('cache-control', PUBLIC_CACHE)
        .send(buildThunderbirdConfig(ctx.config.client, address.domain, address.loginDomain));
    },
  });

  app.post('/autodiscover/autodiscover.xml', {
    bodyLimit: MAX_AUTODISCOVER_REQUEST_BYTES,
    schema: {
      tags: ['autoconfig'],
      operationId: 'postOutlookAutodiscover',
      summary: 'Outlook POX autodiscover (2006 schema): the POP3 account for an address of a hosted domain',
      description:
        'Public. Served on the panel at `/autodiscover/autodiscover.xml` (any capitalisation). The body is the POX request with `EMailAddress` (at most 16 KiB, no DTD; 413 PAYLOAD_TOO_LARGE beyond). 404 NOT_FOUND for a domain not hosted here; LoginName is the normalised address (for an alias domain, the same local part at its target), never checked against mailboxes.',
      consumes: XML_TYPES,
      body: z.string().describe('Autodiscover request XML'),
      produces: ['application/xml'],
      response: { 200: z.string().describe('Autodiscover response XML'), ...publicProblems, 413: problemSchema, 415: problemSchema },
      security: [],
    },
    handler: async (req, reply) => {
      const address = await resolveAutoconfigAddress(ctx.services.prisma, parseAutodiscoverRequest(req.body), 'body.EMailAddress');
      return reply.type('application/xml; charset=utf-8').send(buildAutodiscoverResponse(ctx.config.client, address.login));
    },
  });
}

/** Authenticated: the settings behind the connection card, and Apple profiles per mailbox. */
export async function clientSettingsRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  const profileDoc = (who: string) =>
    `An Apple configuration profile (.mobileconfig, XML property list) with the POP3 account of ${who}: POP3S on the public port, the full address as login. GET leaves the password out (the device asks); POST embeds the password given in the body (never stored, checked or logged).`;
  const profileResponses = { 200: z.string().describe('application/x-apple-aspen-config property list'), ...problems() };

  app.get('/client-settings', {
    schema: {
      tags: ['autoconfig'],
      operationId: 'getClientSettings',
      summary: 'Server, ports and security that mail clients use (the connection card)',
      response: { 200: clientSettingsSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => {
      actorOf(req);
      return ctx.config.client;
    },
  });

  app.get('/mailboxes/:mailboxId/mobileconfig', {
    schema: {
      tags: ['mailboxes'],
      operationId: 'getMailboxMobileconfig',
      summary: 'Apple profile for a mailbox',
      description: profileDoc('the mailbox'),
      params: mailboxParamsSchema,
      produces: [MOBILECONFIG_CONTENT_TYPE],
      response: profileResponses,
      security: READ_SECURITY,
    },
    handler: async (req, reply) =>
      sendProfile(
        reply,
        await getMailboxProfile(ctx.services.prisma, actorOf(req), { mailboxId: req.params.mailboxId }, ctx.config.client),
      ),
  });
  app.post('/mailboxes/:mailboxId/mobileconfig', {
    schema: {
      tags: ['mailboxes'],
      operationId: 'createMailboxMobileconfigWithPassword',
      summary: 'Apple profile for a mailbox, password embedded',
      description: profileDoc('the mailbox'),
      params: mailboxParamsSchema,
      body: mobileconfigBodySchema,
      produces: [MOBILECONFIG_CONTENT_TYPE],
      response: profileResponses,
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) =>
      sendProfile(
        reply,
        await getMailboxProfile(
          ctx.services.prisma,
          actorOf(req),
          { mailboxId: req.params.mailboxId },
          ctx.config.client,
          req.body.password,
        ),
      ),
  });
  app.get('/me/mobileconfig', {
    schema: {
      tags: ['auth'],
      operationId: 'getOwnMobileconfig',
      summary: "Apple profile for the signed-in mailbox user's own mailbox",
      description: profileDoc('the signed-in mailbox user'),
      produces: [MOBILECONFIG_CONTENT_TYPE],
      response: profileResponses,
      security: [{ sessionCookie: [] }],
    },
    handler: async (req, reply) =>
      sendProfile(reply, await getMailboxProfile(ctx.services.prisma, actorOf(req), { self: true }, ctx.config.client)),
  });
  app.post('/me/mobileconfig', {
    schema: {
      tags: ['auth'],
      operationId: 'createOwnMobileconfigWithPassword',
      summary: "Apple profile for the signed-in mailbox user's own mailbox, password embedded",
      description: profileDoc('the signed-in mailbox user'),
      body: mobileconfigBodySchema,
      produces: [MOBILECONFIG_CONTENT_TYPE],
      response: profileResponses,
      security: [{ sessionCookie: [], csrfToken: [] }],
    },
    handler: async (req, reply) =>
      sendProfile(reply, await getMailboxProfile(ctx.services.prisma, actorOf(req), { self: true }, ctx.config.client, req.body.password)),
  });
}
