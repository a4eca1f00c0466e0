import { z } from 'zod';
import { idSchema, isoDateTimeSchema, localPartSchema, paginationQuerySchema, pageSchema } from './common.ts';

export const aliasSchema = z
  .object({
    id: idSchema,
    domainId: idSchema,
    domain: z.string(),
    localPart: z.string().nullable().describe('null: catch-all for the domain'),
    address: z.string().describe('local@domain, or @domain for the catch-all'),
    enabled: z.boolean(),
    destinations: z.array(z.object({ mailboxId: idSchema, address: z.string() })),
    createdAt: isoDateTimeSchema,
    updatedAt: isoDateTimeSchema,
  })
  .meta({ id: 'Alias' });
export type Alias = z.infer<typeof aliasSchema>;

const destinationsSchema = z.array(idSchema).min(1).max(100).describe('Ids of internal mailboxes of the same owner');

export const createAliasBodySchema = z.object({
  localPart: localPartSchema.nullable().describe('null creates the catch-all'),
  destinations: destinationsSchema,
  enabled: z.boolean().optional(),
});
export type CreateAliasBody = z.infer<typeof createAliasBodySchema>;

export const updateAliasBodySchema = z.object({
  localPart: localPartSchema.nullable().optional(),
  destinations: destinationsSchema.optional(),
  enabled: z.boolean().optional(),
});
export type UpdateAliasBody = z.infer<typeof updateAliasBodySchema>;

export const aliasParamsSchema = z.object({ aliasId: idSchema });
export const listAliasesQuerySchema = paginationQuerySchema;
export const aliasPageSchema = pageSchema(aliasSchema);
