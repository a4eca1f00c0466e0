import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { CSRF_HEADER, SESSION_COOKIE } from '@mailroom/core/schemas';

export const API_VERSION = '1.0.0';

type OpenApiDocument = {
  paths?: Record<string, Record<string, { responses?: Record<string, { description?: string; content?: Record<string, unknown> }> }>>;
};

const STATUS_TEXT: Record<string, string> = {
  '400': 'Invalid request (VALIDATION_FAILED, with one entry per field in `errors`)',
  '401': 'Not signed in, or a bad API key (UNAUTHENTICATED, INVALID_CREDENTIALS)',
  '403': 'Not allowed for this principal or key scope (FORBIDDEN, CSRF_FAILED, ACCOUNT_DISABLED, MAILBOX_DISABLED)',
  '404': "No such resource, or another tenant's (NOT_FOUND)",
  '409':
    'Conflicts with existing data (ALREADY_EXISTS, CONFLICT, DOMAIN_NOT_EMPTY, OWNER_NOT_EMPTY, ALIASES_CROSS_OWNERS, DOMAIN_IS_ALIAS)',
  '422':
    'Refused by a limit or policy (LIMIT_DOMAINS_EXCEEDED, LIMIT_MAILBOXES_EXCEEDED, LIMIT_STORAGE_EXCEEDED, LIMIT_SENDER_RULES_EXCEEDED, QUOTA_REQUIRED, SCOPE_NOT_ALLOWED, PASSWORD_TOO_WEAK)',
  '429': 'Throttled (THROTTLED); see Retry-After',
};

/** 204s carry no body; errors are application/problem+json with a description naming their codes. */
function polishDocument(doc: OpenApiDocument): OpenApiDocument {
  for (const ops of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(ops)) {
      for (const [status, res] of Object.entries(op.responses ?? {})) {
        if (status === '204') {
          op.responses![status] = { description: 'No content' };
        } else if (Number(status) >= 400 && res.content && !res.content['application/problem+json']) {
          // (routes producing XML or profiles list their media types on every status: errors are still problems)
          res.content = { 'application/problem+json': res.content['application/json'] ?? Object.values(res.content)[0] };
          res.description = STATUS_TEXT[status] ?? 'Problem details';
        } else if (res.description === 'Default Response') {
          res.description = 'Success';
        }
      }
    }
  }
  return doc;
}

const DESCRIPTION = `Provision Mailroom from your own systems: owners, domains, POP3 mailboxes, aliases, API keys and the audit trail.

**Authentication.** Automation sends \`Authorization: Bearer mr_<prefix>_<secret>\` (create keys with \`POST /api/v1/api-keys\` or \`npm run mailroom -- api-key create\`). Browsers sign in with \`POST /api/v1/auth/login\`, which sets the \`${SESSION_COOKIE}\` cookie and returns a \`csrfToken\`; send it as \`${CSRF_HEADER}\` on every POST/PUT/PATCH/DELETE made with the cookie.

**Errors** are RFC 9457 \`application/problem+json\` documents with a stable \`code\` (see the Problem schema); validation errors list each field in \`errors\`. Another tenant's resource answers 404.

**Lists** are cursor-paginated: \`limit\` (1–200, default 50) and \`cursor\` (the previous page's \`nextCursor\`).

**Byte counts** (usage, quotas, limits) are JSON integers; \`null\` means unlimited.`;

/** OpenAPI 3 document at /api/openapi.json (generated from the zod route schemas) and Swagger UI at /api/docs. */
export const docsPlugin = fp(async (app: FastifyInstance) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Mailroom API', version: API_VERSION, description: DESCRIPTION },
      tags: [
        { name: 'auth', description: 'Sessions and the signed-in principal' },
        { name: 'owners', description: 'Tenants (admin only)' },
        { name: 'domains', description: 'Hosted mail domains' },
        { name: 'mailboxes', description: 'POP3 maildrops' },
        { name: 'aliases', description: 'Aliases and catch-alls to internal mailboxes' },
        {
          name: 'sender-rules',
          description:
            'Senders a domain or mailbox blocks (MAIL FROM or the From author) or never greylists (MAIL FROM), on the SMTP listener',
        },
        { name: 'api-keys', description: 'Scoped API keys' },
        { name: 'app-passwords', description: 'POP3 app passwords of a mailbox and the app-passwords-only policy' },
        { name: 'audit', description: 'Who changed what' },
        { name: 'delivery-log', description: 'Recipient outcomes at the ingress, and mailboxes over a quota warning threshold' },
        { name: 'passkeys', description: 'WebAuthn passkeys of panel users: add, name, remove (passwordless sign-in is under auth)' },
        {
          name: 'autoconfig',
          description: 'Mail client settings: Thunderbird autoconfig and Outlook autodiscover (public), the connection card',
        },
      ],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'mr_<prefix>_<secret>',
            description: 'An API key; its scopes and domain restriction apply.',
          },
          sessionCookie: {
            type: 'apiKey',
            in: 'cookie',
            name: SESSION_COOKIE,
            description: 'Browser session set by POST /api/v1/auth/login (HttpOnly, SameSite=Lax).',
          },
          csrfToken: {
            type: 'apiKey',
            in: 'header',
            name: CSRF_HEADER,
            description: 'CSRF token from login or GET /api/v1/me; required with the session cookie on unsafe methods.',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: (doc) => polishDocument(jsonSchemaTransformObject(doc) as OpenApiDocument) as never,
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs', uiConfig: { persistAuthorization: false, withCredentials: true } });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
});
