import { z } from 'zod';
import { byteCountSchema, domainNameSchema, idSchema, isoDateTimeSchema, nullableByteLimitSchema, nullableCountLimitSchema, paginationQuerySchema, pageSchema, queryBooleanSchema } from './common.ts';

export const domainSchema = z
  .object({
    id: idSchema,
    name: z.string().describe('Lowercase ASCII (IDNs as punycode)'),
    ownerId: idSchema,
    ownerEmail: z.string(),
    active: z.boolean(),
    description: z.string().nullable(),
    maxMailboxes: nullableCountLimitSchema,
    maxStorageBytes: nullableByteLimitSchema,
    defaultQuotaBytes: nullableByteLimitSchema,
    usedBytes: byteCountSchema,
    loginDelaySeconds: z.number().int().nullable().describe('POP3 LOGIN-DELAY (RFC 2449) for the domain; null: the operator default'),
    retentionDays: z.number().int().nullable().describe('POP3 EXPIRE (RFC 2449): days messages are kept; null: the operator default'),
    mailboxCount: z.number().int(),
    aliasCount: z.number().int(),
    createdAt: isoDateTimeSchema,
    updatedAt: isoDateTimeSchema,
  })
  .meta({ id: 'Domain' });
export type Domain = z.infer<typeof domainSchema>;

const descriptionSchema = z.string().trim().max(500).nullable();
const loginDelaySchema = z.number().int().min(0).max(86_400).nullable().describe('Seconds between POP3 logins (RFC 2449 LOGIN-DELAY); null: the operator default');
const retentionDaysSchema = z.number().int().min(1).max(36_500).nullable().describe('Days messages are kept (RFC 2449 EXPIRE); null: the operator default');

/** The settings a domain is created with and that can be changed later. */
const domainSettingsShape = {
  description: descriptionSchema.optional(),
  maxMailboxes: nullableCountLimitSchema.optional().describe('Admins only'),
  maxStorageBytes: nullableByteLimitSchema.optional().describe('Admins only'),
  defaultQuotaBytes: nullableByteLimitSchema.optional(),
  loginDelaySeconds: loginDelaySchema.optional(),
  retentionDays: retentionDaysSchema.optional(),
};

export const createDomainBodySchema = z.object({
  name: domainNameSchema,
  ownerId: idSchema.optional().describe('Admins only: the owner of the new domain (default: the caller)'),
  ...domainSettingsShape,
});
export type CreateDomainBody = z.infer<typeof createDomainBodySchema>;

export const updateDomainBodySchema = z.object({
  ownerId: idSchema.optional().describe('Admins only: transfer the domain'),
  active: z.boolean().optional().describe('false disables the domain: its mailboxes cannot sign in or receive'),
  ...domainSettingsShape,
});
export type UpdateDomainBody = z.infer<typeof updateDomainBodySchema>;

export const domainParamsSchema = z.object({ domainId: idSchema });
export const listDomainsQuerySchema = paginationQuerySchema.extend({
  q: z.string().trim().max(253).optional().describe('Substring of the name'),
  ownerId: idSchema.optional().describe('Admins: only this owner\'s domains'),
});
export const deleteDomainQuerySchema = z.object({ force: queryBooleanSchema.optional().describe('Delete even when mailboxes exist (their messages are lost)') });
export const domainPageSchema = pageSchema(domainSchema);
