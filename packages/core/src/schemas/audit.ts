import { z } from 'zod';
import { idSchema, isoDateTimeSchema, paginationQuerySchema, pageSchema } from './common.ts';

export const auditEventSchema = z
  .object({
    id: idSchema,
    actorType: z.string().describe('user, apiKey, mailbox or system'),
    actorId: idSchema.nullable(),
    actorLabel: z.string(),
    apiKeyId: idSchema.nullable(),
    ownerId: idSchema.nullable(),
    action: z.string().describe('e.g. mailbox.create, domain.update'),
    targetType: z.string(),
    targetId: z.string().nullable(),
    ip: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    createdAt: isoDateTimeSchema,
  })
  .meta({ id: 'AuditEvent' });
export type AuditEvent = z.infer<typeof auditEventSchema>;

export const listAuditEventsQuerySchema = paginationQuerySchema.extend({
  actorId: idSchema.optional(),
  targetId: z.string().trim().min(1).max(100).optional(),
  targetType: z.string().trim().min(1).max(50).optional(),
  action: z.string().trim().min(1).max(100).optional().describe('Exact action, or a prefix ending in "." (e.g. "mailbox.")'),
  ownerId: idSchema.optional().describe('Admins: one tenant'),
  from: isoDateTimeSchema.optional().describe('Inclusive lower bound of createdAt'),
  to: isoDateTimeSchema.optional().describe('Exclusive upper bound of createdAt'),
});
export const auditEventPageSchema = pageSchema(auditEventSchema);
