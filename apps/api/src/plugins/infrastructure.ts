import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import helmet from '@fastify/helmet';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  AppError,
  isAppError,
  isDatabaseUnavailable,
  isDataException,
  replaceForwardingHeaders,
  type FieldIssue,
  type ForwardableRequest,
  type TrustedProxies,
} from '@mailroom/core';
import type { PrismaClient } from '@mailroom/db';
import { codeForStatus, HTTP_STATUS, makeProblem } from '../problems.ts';
import type { Problem } from '@mailroom/core/schemas';

export const REQUEST_ID_HEADER = 'x-request-id';
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function genRequestId(req: { headers: Record<string, string | string[] | undefined> }): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Fastify options that make `req.ip` and `req.protocol` trustworthy: only `trusted` peers may forward a client address
 * or scheme, and `req.ip` is always an IP address. Before routing (and before Fastify logs the request), every
 * forwarding header is replaced by what resolveClient concluded: one X-Forwarded-For/-Proto pair (which Fastify reads
 * only from a trusted peer). Fastify's own proxy-addr walk then lands on exactly that address, never on a header string
 * like "foo" or "1.2.3.4, 5.6.7.8" (proxy-addr returns an untrusted hop's text unchecked).
 */
export function clientAddressOptions(trusted: TrustedProxies): {
  trustProxy: (addr: string) => boolean;
  rewriteUrl: (req: IncomingMessage) => string;
} {
  return {
    trustProxy: (addr) => trusted.has(addr),
    rewriteUrl(req) {
      replaceForwardingHeaders(req as ForwardableRequest, trusted);
      return req.url ?? '/';
    },
  };
}

export function sendProblem(reply: FastifyReply, req: FastifyRequest, problem: Problem): FastifyReply {
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send({ ...problem, instance: req.url.split('?')[0], requestId: req.id });
}

function validationFields(err: {
  validation: { instancePath: string; message?: string; keyword: string }[];
  validationContext?: string;
}): FieldIssue[] {
  const where = err.validationContext === 'querystring' ? 'query' : (err.validationContext ?? 'body');
  return err.validation.map((v) => ({
    path: [where, ...v.instancePath.split('/').filter(Boolean)].join('.'),
    message: v.message ?? 'is invalid',
    code: v.keyword,
  }));
}

function findNul(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (!value || typeof value !== 'object' || depth > 20) return undefined;
  for (const [k, v] of Object.entries(value)) {
    // eslint-disable-next-line no-control-regex -- finding NUL is the point
    if (k.includes('\u0000')) return `${path}.${k.replace(/\u0000/g, '')}`;
    const found = findNul(v, `${path}.${k}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Headers, request ids, the problem+json error mapping, 404s, health, readiness and metrics. */
export const infrastructurePlugin = fp<{ prisma: PrismaClient }>(async (app: FastifyInstance, opts) => {
  await app.register(helmet, {
    // JSON API plus the Swagger UI pages (own scripts and styles only, plus inline styles Swagger UI sets).
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
      },
    },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });

  // JSON only: no text/plain bodies (the content type a cross-site form can send without a CORS preflight).
  app.removeContentTypeParser('text/plain');

  app.addHook('onRequest', async (req, reply) => {
    reply.header(REQUEST_ID_HEADER, req.id);
  });
  // API responses are per user: never cached by shared caches.
  app.addHook('onSend', async (req, reply) => {
    if (req.url.startsWith('/api/v1') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });

  // PostgreSQL text cannot hold NUL: refuse it anywhere in the input, before any handler sees it.
  app.addHook('preValidation', async (req) => {
    for (const [where, value] of [
      ['params', req.params],
      ['query', req.query],
      ['body', req.body],
    ] as const) {
      const path = findNul(value, where);
      if (path)
        throw new AppError('VALIDATION_FAILED', 'The request contains a NUL character', {
          fields: [{ path, message: 'must not contain NUL characters', code: 'nul_character' }],
        });
    }
  });

  // ---- metrics ----
  const registry = new Registry();
  collectDefaultMetrics({ register: registry }); // standard process_/nodejs_ names, like every service
  const requests = new Counter({
    name: 'mailroom_api_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'mailroom_api_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });
  app.decorate('metricsRegistry', registry);

  // ---- errors ----
  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    if (isAppError(err)) {
      const retry = err.details?.retryAfterSeconds;
      if (typeof retry === 'number') reply.header('retry-after', String(retry));
      if (HTTP_STATUS[err.code] >= 500) req.log.error({ err }, 'request failed');
      return sendProblem(reply, req, makeProblem(err.code, err.message, { errors: err.fields, details: err.details }));
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      return sendProblem(
        reply,
        req,
        makeProblem('VALIDATION_FAILED', 'The request is invalid', { errors: validationFields(err as never) }),
      );
    }
    if (isResponseSerializationError(err)) {
      req.log.error({ err, issues: err.cause?.issues }, 'response does not match its schema');
      return sendProblem(reply, req, makeProblem('INTERNAL', 'Internal error'));
    }
    if (isDataException(err)) {
      req.log.warn({ err }, 'input rejected by the database');
      return sendProblem(reply, req, makeProblem('VALIDATION_FAILED', 'The request contains a value the database cannot store'));
    }
    if (isDatabaseUnavailable(err)) {
      req.log.error({ err }, 'database unavailable');
      return sendProblem(reply, req, makeProblem('DB_UNAVAILABLE', 'The database is unavailable; try again shortly'));
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return sendProblem(reply, req, makeProblem('INTERNAL', 'Internal error'));
    }
    // Fastify's own 4xx (malformed JSON, wrong content type, body too large, bad URL encoding …).
    const code = codeForStatus(status);
    const fields: FieldIssue[] | undefined =
      code === 'VALIDATION_FAILED'
        ? [
            {
              path: err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || /json/i.test(err.message) ? 'body' : 'request',
              message: err.message,
              code: err.code,
            },
          ]
        : undefined;
    return sendProblem(reply, req, makeProblem(code, err.message, { status: code === 'VALIDATION_FAILED' ? 400 : status, errors: fields }));
  });

  app.setNotFoundHandler(async (req, reply) =>
    sendProblem(reply, req, makeProblem('NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`)),
  );

  // ---- health ----
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (req, reply) => {
    try {
      await opts.prisma.$queryRaw`SELECT 1`;
      return { status: 'ready' };
    } catch (err) {
      req.log.warn({ err }, 'readiness check failed');
      return sendProblem(reply, req, makeProblem('DB_UNAVAILABLE', 'The database is unreachable'));
    }
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
});

declare module 'fastify' {
  interface FastifyInstance {
    metricsRegistry: Registry;
  }
}
