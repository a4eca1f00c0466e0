import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  redeliverWebhook,
  updateWebhookEndpoint,
} from '@mailroom/core';
import {
  createdWebhookEndpointSchema,
  createWebhookEndpointBodySchema,
  listWebhookDeliveriesQuerySchema,
  listWebhookEndpointsQuerySchema,
  updateWebhookEndpointBodySchema,
  WEBHOOK_EVENT_TYPES,
  webhookDeliveryPageSchema,
  webhookDeliveryParamsSchema,
  webhookDeliverySchema,
  webhookEndpointPageSchema,
  webhookEndpointParamsSchema,
  webhookEndpointSchema,
  webhookEventTypeSchema,
} from '@mailroom/core/schemas';
import { z } from 'zod';
import { actorOf } from '../plugins/auth.ts';
import { noContentSchema, problems, READ_SECURITY, WRITE_SECURITY, type RouteContext, type ZodApp } from './common.ts';

const tags = ['webhooks'];

const SIGNING =
  'Each delivery is a POST of {type, timestamp, data} signed per Standard Webhooks: headers webhook-id (the event id, the same on ' +
  'every retry), webhook-timestamp (Unix seconds) and webhook-signature `v1,<base64 HMAC-SHA256 over "id.timestamp.body">` keyed ' +
  'with the base64-decoded part of the secret after whsec_.';

export async function webhookRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  app.get('/webhooks/event-types', {
    schema: {
      tags,
      operationId: 'listWebhookEventTypes',
      summary: 'Event types an endpoint can subscribe to',
      response: { 200: z.object({ items: z.array(webhookEventTypeSchema) }), ...problems() },
      security: READ_SECURITY,
    },
    handler: async () => ({ items: [...WEBHOOK_EVENT_TYPES] }),
  });
  app.post('/webhooks', {
    schema: {
      tags,
      operationId: 'createWebhookEndpoint',
      summary: 'Register a webhook endpoint (the signing secret is in this response only)',
      description:
        `Owners receive the events of their own domains and API keys, administrators every event. ${SIGNING} URLs pointing to loopback, ` +
        'private, link-local (metadata), CGNAT, multicast or IPv4-mapped addresses are refused (WEBHOOK_URL_FORBIDDEN) unless the operator set WEBHOOK_ALLOW_PRIVATE; ' +
        'the worker checks the address again at connection time and follows no redirect. Domain-restricted API keys cannot manage webhooks.',
      body: createWebhookEndpointBodySchema,
      response: { 201: createdWebhookEndpointSchema, ...problems(422) },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => reply.code(201).send(await createWebhookEndpoint(ctx.webhooks, actorOf(req), req.body)),
  });
  app.get('/webhooks', {
    schema: {
      tags,
      operationId: 'listWebhookEndpoints',
      summary: 'List webhook endpoints (owners: their own; admins: all, or ?userId=)',
      querystring: listWebhookEndpointsQuerySchema,
      response: { 200: webhookEndpointPageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listWebhookEndpoints(ctx.services.prisma, actorOf(req), req.query),
  });
  app.get('/webhooks/:webhookId', {
    schema: {
      tags,
      operationId: 'getWebhookEndpoint',
      summary: 'Get a webhook endpoint (never its secret)',
      params: webhookEndpointParamsSchema,
      response: { 200: webhookEndpointSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => getWebhookEndpoint(ctx.services.prisma, actorOf(req), req.params.webhookId),
  });
  app.patch('/webhooks/:webhookId', {
    schema: {
      tags,
      operationId: 'updateWebhookEndpoint',
      summary: 'Change URL, events or description; enable or disable',
      description: 'Enabling an endpoint that was disabled (by hand or after sustained failure) resets its failure count.',
      params: webhookEndpointParamsSchema,
      body: updateWebhookEndpointBodySchema,
      response: { 200: webhookEndpointSchema, ...problems(422) },
      security: WRITE_SECURITY,
    },
    handler: async (req) => updateWebhookEndpoint(ctx.webhooks, actorOf(req), req.params.webhookId, req.body),
  });
  app.delete('/webhooks/:webhookId', {
    schema: {
      tags,
      operationId: 'deleteWebhookEndpoint',
      summary: 'Delete a webhook endpoint with its delivery history',
      params: webhookEndpointParamsSchema,
      response: { 204: noContentSchema, ...problems() },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => {
      await deleteWebhookEndpoint(ctx.services.prisma, actorOf(req), req.params.webhookId);
      return reply.code(204).send(null);
    },
  });
  app.get('/webhooks/:webhookId/deliveries', {
    schema: {
      tags,
      operationId: 'listWebhookDeliveries',
      summary: "An endpoint's deliveries, newest first, with their attempts and response codes",
      params: webhookEndpointParamsSchema,
      querystring: listWebhookDeliveriesQuerySchema,
      response: { 200: webhookDeliveryPageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listWebhookDeliveries(ctx.services.prisma, actorOf(req), req.params.webhookId, req.query),
  });
  app.post('/webhooks/:webhookId/deliveries/:deliveryId/redeliver', {
    schema: {
      tags,
      operationId: 'redeliverWebhook',
      summary: 'Send an event to this endpoint again (same webhook-id, fresh signature and retry schedule)',
      params: webhookDeliveryParamsSchema,
      response: { 202: webhookDeliverySchema, ...problems(409) },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) =>
      reply.code(202).send(await redeliverWebhook(ctx.services.prisma, actorOf(req), req.params.webhookId, req.params.deliveryId)),
  });
}
