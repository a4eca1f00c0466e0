import { z } from 'zod';
import { idSchema, isoDateTimeSchema, pageSchema, paginationQuerySchema } from './common.ts';

/** Every event a webhook endpoint can subscribe to (the `type` of the payload). */
export const WEBHOOK_EVENT_TYPES = [
  'domain.created',
  'domain.verified',
  'domain.updated',
  'domain.enabled',
  'domain.disabled',
  'domain.deleted',
  'mailbox.created',
  'mailbox.updated',
  'mailbox.enabled',
  'mailbox.disabled',
  'mailbox.deleted',
  'mailbox.password_changed',
  'mailbox.quota_warning',
  'mailbox.import_completed',
  'mailbox.second_factor_refused',
  'user.second_factor_refused',
  'api_key.created',
  'api_key.revoked',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
export const webhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES);

/** Standard Webhooks secret: `whsec_` and the base64 of 24 to 64 random bytes. */
export const WEBHOOK_SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/;
export const MAX_WEBHOOK_URL_LENGTH = 2000;

export const webhookEndpointSchema = z
  .object({
    id: idSchema,
    userId: idSchema.describe('Who registered it: an owner receives events of their own domains, an administrator every event'),
    url: z.string(),
    description: z.string(),
    eventTypes: z.array(webhookEventTypeSchema),
    enabled: z.boolean(),
    disabledReason: z.enum(['manual', 'failing']).nullable().describe('failing: disabled automatically after sustained delivery failure'),
    disabledAt: isoDateTimeSchema.nullable(),
    consecutiveFailures: z.number().int(),
    failingSince: isoDateTimeSchema.nullable(),
    createdAt: isoDateTimeSchema,
  })
  .meta({ id: 'WebhookEndpoint' });
export type WebhookEndpoint = z.infer<typeof webhookEndpointSchema>;

export const createdWebhookEndpointSchema = webhookEndpointSchema
  .extend({ secret: z.string().describe('The signing secret (whsec_…), shown only in this response') })
  .meta({ id: 'CreatedWebhookEndpoint' });
export type CreatedWebhookEndpoint = z.infer<typeof createdWebhookEndpointSchema>;

const webhookUrlSchema = z
  .string()
  .trim()
  .min(1)
  .max(MAX_WEBHOOK_URL_LENGTH)
  .refine((v) => /^https?:\/\//i.test(v), 'must be an http:// or https:// URL');

export const createWebhookEndpointBodySchema = z.object({
  url: webhookUrlSchema,
  description: z.string().trim().max(200).optional(),
  eventTypes: z.array(webhookEventTypeSchema).min(1).max(WEBHOOK_EVENT_TYPES.length),
  secret: z
    .string()
    .regex(WEBHOOK_SECRET_PATTERN, 'must be whsec_ followed by base64 of 24 to 64 bytes')
    .optional()
    .describe('Default: generated'),
});
export type CreateWebhookEndpointBody = z.infer<typeof createWebhookEndpointBodySchema>;

export const updateWebhookEndpointBodySchema = z.object({
  url: webhookUrlSchema.optional(),
  description: z.string().trim().max(200).optional(),
  eventTypes: z.array(webhookEventTypeSchema).min(1).max(WEBHOOK_EVENT_TYPES.length).optional(),
  enabled: z.boolean().optional().describe('Enabling again resets the failure count'),
});
export type UpdateWebhookEndpointBody = z.infer<typeof updateWebhookEndpointBodySchema>;

export const webhookEndpointParamsSchema = z.object({ webhookId: idSchema });
export const webhookDeliveryParamsSchema = z.object({ webhookId: idSchema, deliveryId: idSchema });
export const listWebhookEndpointsQuerySchema = paginationQuerySchema.extend({
  userId: idSchema.optional().describe("Admins: one user's endpoints"),
});
export const webhookEndpointPageSchema = pageSchema(webhookEndpointSchema);

export const webhookAttemptSchema = z
  .object({
    id: idSchema,
    startedAt: isoDateTimeSchema,
    durationMs: z.number().int(),
    statusCode: z.number().int().nullable().describe('HTTP status; null when no response came (refused, timeout, blocked address)'),
    error: z.string().nullable(),
    responseBody: z.string().nullable().describe('The start of the response body'),
  })
  .meta({ id: 'WebhookAttempt' });

export const webhookDeliverySchema = z
  .object({
    id: idSchema,
    endpointId: idSchema,
    eventId: idSchema.describe('The webhook-id header: stable across retries and redeliveries'),
    eventType: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed']),
    attemptCount: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastAttemptAt: isoDateTimeSchema.nullable(),
    redeliverRequestedAt: isoDateTimeSchema.nullable(),
    createdAt: isoDateTimeSchema,
    attempts: z.array(webhookAttemptSchema).describe('Newest first, at most 20'),
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;
export const listWebhookDeliveriesQuerySchema = paginationQuerySchema.extend({
  eventId: idSchema.optional(),
  status: z.enum(['pending', 'succeeded', 'failed']).optional(),
});
export const webhookDeliveryPageSchema = pageSchema(webhookDeliverySchema);
