import { z } from 'zod';
import {
  byteCountSchema,
  displayNameSchema,
  emailSchema,
  idSchema,
  isoDateTimeSchema,
  nullableByteLimitSchema,
  nullableCountLimitSchema,
  paginationQuerySchema,
  pageSchema,
  passwordSchema,
  queryBooleanSchema,
} from './common.ts';

export const ownerSchema = z
  .object({
    id: idSchema,
    email: z.string(),
    displayName: z.string().nullable(),
    disabled: z.boolean(),
    maxDomains: nullableCountLimitSchema,
    maxMailboxes: nullableCountLimitSchema,
    maxStorageBytes: nullableByteLimitSchema,
    usage: z.object({ domains: z.number().int(), mailboxes: z.number().int(), usedBytes: byteCountSchema }),
    lastLoginAt: isoDateTimeSchema.nullable(),
    passwordChangedAt: isoDateTimeSchema
      .nullable()
      .describe('When the password was last set (creation, a change, a reset by an admin); null: before Mailroom kept it'),
    createdAt: isoDateTimeSchema,
    updatedAt: isoDateTimeSchema,
  })
  .meta({ id: 'Owner' });
export type Owner = z.infer<typeof ownerSchema>;

export const createOwnerBodySchema = z.object({
  email: emailSchema,
  password: passwordSchema,
  displayName: displayNameSchema.nullable().optional(),
  maxDomains: nullableCountLimitSchema.optional(),
  maxMailboxes: nullableCountLimitSchema.optional(),
  maxStorageBytes: nullableByteLimitSchema.optional(),
});
export type CreateOwnerBody = z.infer<typeof createOwnerBodySchema>;

export const updateOwnerBodySchema = z.object({
  email: emailSchema.optional(),
  password: passwordSchema.optional().describe('Sets a new password (the owner is signed out everywhere and their API keys are revoked)'),
  displayName: displayNameSchema.nullable().optional(),
  disabled: z.boolean().optional(),
  maxDomains: nullableCountLimitSchema.optional(),
  maxMailboxes: nullableCountLimitSchema.optional(),
  maxStorageBytes: nullableByteLimitSchema.optional(),
});
export type UpdateOwnerBody = z.infer<typeof updateOwnerBodySchema>;

export const ownerParamsSchema = z.object({ ownerId: idSchema });
export const listOwnersQuerySchema = paginationQuerySchema.extend({
  q: z.string().trim().max(254).optional().describe('Substring of the email'),
});
export const deleteOwnerQuerySchema = z.object({ force: queryBooleanSchema.optional().describe('Also delete every domain of the owner') });
export const ownerPageSchema = pageSchema(ownerSchema);
