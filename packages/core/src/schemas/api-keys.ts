import { z } from 'zod';
import { apiKeyScopeSchema, idSchema, isoDateTimeSchema, paginationQuerySchema, pageSchema } from './common.ts';

export const apiKeySchema = z
  .object({
    id: idSchema,
    userId: idSchema,
    name: z.string(),
    prefix: z.string().describe('Public part of the key: mr_<prefix>_…'),
    scopes: z.array(apiKeyScopeSchema),
    domainIds: z.array(idSchema).describe('Empty: every domain the user may reach'),
    expiresAt: isoDateTimeSchema.nullable(),
    lastUsedAt: isoDateTimeSchema.nullable().describe('Recorded at most once a minute per key'),
    lastUsedIp: z.string().nullable().describe('Client address of that last use'),
    revokedAt: isoDateTimeSchema.nullable(),
    createdAt: isoDateTimeSchema,
  })
  .meta({ id: 'ApiKey' });
export type ApiKey = z.infer<typeof apiKeySchema>;

export const createdApiKeySchema = apiKeySchema
  .extend({ key: z.string().describe('The full key, shown only in this response: Authorization: Bearer <key>') })
  .meta({ id: 'CreatedApiKey' });
export type CreatedApiKey = z.infer<typeof createdApiKeySchema>;

export const createApiKeyBodySchema = z.object({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(apiKeyScopeSchema).min(1).max(20),
  domainIds: z.array(idSchema).max(1000).optional().describe('Restrict the key to these domains'),
  expiresAt: isoDateTimeSchema.nullable().optional(),
});
export type CreateApiKeyBody = z.infer<typeof createApiKeyBodySchema>;

export const apiKeyParamsSchema = z.object({ apiKeyId: idSchema });
export const listApiKeysQuerySchema = paginationQuerySchema.extend({
  userId: idSchema.optional().describe("Admins: another user's keys"),
});
export const apiKeyPageSchema = pageSchema(apiKeySchema);
