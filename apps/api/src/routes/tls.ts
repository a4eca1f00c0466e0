import { z } from 'zod';
import { AppError, certificateHostAllowed } from '@mailroom/core';
import { certificateAskQuerySchema, problemSchema } from '@mailroom/core/schemas';
import type { RouteContext, ZodApp } from './common.ts';

/**
 * The question an HTTPS proxy in front of the panel asks before it obtains a certificate on demand (Caddy:
 * `on_demand_tls { ask http://<api>/api/tls/ask }`, which sends `?domain=<name>` and goes ahead on any 2xx).
 */
export async function publicTlsRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  app.get('/tls/ask', {
    schema: {
      tags: ['autoconfig'],
      operationId: 'askCertificateHost',
      summary: 'Whether the HTTPS proxy may obtain a certificate for a host name (on-demand TLS)',
      description:
        'Public: the proxy asks without credentials. 200 for the panel host (MAILROOM_WEB_HOST) and for ' +
        '`autoconfig.<domain>`, `autodiscover.<domain>` and, while the domain has an MTA-STS mode, `mta-sts.<domain>` ' +
        'of a hosted domain (verified, active, owner not disabled); 404 NOT_FOUND for any other name, the same answer ' +
        'whether the domain is unknown, pending or disabled. It tells no more than those names\u2019 DNS records ' +
        'and the public MTA-STS policy do.',
      querystring: certificateAskQuerySchema,
      response: { 200: z.object({ allowed: z.literal(true) }), 400: problemSchema, 404: problemSchema },
      security: [],
    },
    handler: async (req, reply) => {
      if (!(await certificateHostAllowed(ctx.services.prisma, ctx.services.onboarding, req.query.domain)))
        throw new AppError('NOT_FOUND', 'Not a host name Mailroom serves');
      return reply.header('cache-control', 'no-store').send({ allowed: true as const });
    },
  });
}
