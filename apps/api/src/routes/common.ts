import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuthDeps, ServiceDeps, WebhookServiceDeps } from '@mailroom/core';
import { problemSchema } from '@mailroom/core/schemas';
import type { ApiConfig } from '../config.ts';

export interface RouteContext {
  services: ServiceDeps;
  auth: AuthDeps;
  config: ApiConfig;
  webhooks: WebhookServiceDeps;
}

export type ZodApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** OpenAPI security requirements: an API key, or the session cookie (plus the CSRF header on unsafe methods). */
type Security = { [scheme: string]: string[] }[];
export const READ_SECURITY: Security = [{ bearerAuth: [] }, { sessionCookie: [] }];
export const WRITE_SECURITY: Security = [{ bearerAuth: [] }, { sessionCookie: [], csrfToken: [] }];

/** Problem responses a route documents (every authenticated route can answer 400, 401, 403 and 404). */
export function problems(...statuses: number[]) {
  const all = new Set([400, 401, 403, 404, ...statuses]);
  return Object.fromEntries([...all].sort().map((s) => [s, problemSchema]));
}

export const noContentSchema = z.null().describe('No content');
