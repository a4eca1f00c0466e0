import { z } from 'zod';
import {
  byteCountSchema,
  displayNameSchema,
  idSchema,
  isoDateTimeSchema,
  localPartSchema,
  loginDelaySecondsSchema,
  nullableByteLimitSchema,
  paginationQuerySchema,
  pageSchema,
  passwordSchema,
  retentionDaysSchema,
  retentionDaysValueSchema,
} from './common.ts';

export const mailboxSchema = z
  .object({
    id: idSchema,
    domainId: idSchema,
    domain: z.string(),
    localPart: z.string(),
    address: z.string(),
    displayName: z.string().nullable(),
    quotaBytes: nullableByteLimitSchema,
    usedBytes: byteCountSchema,
    messageCount: z.number().int(),
    enabled: z.boolean(),
    loginDelaySeconds: z
      .number()
      .int()
      .nullable()
      .describe("POP3 LOGIN-DELAY (RFC 2449) of this mailbox; null: the domain's (then the operator default)"),
    retentionDays: retentionDaysValueSchema.describe(
      'POP3 EXPIRE (RFC 2449) of this mailbox: days messages are kept, 0 = deleted once retrieved, "never"; null: the domain\'s (then the operator default)',
    ),
    lastLoginAt: isoDateTimeSchema.nullable(),
    lastLoginIp: z.string().nullable(),
    passwordChangedAt: isoDateTimeSchema
      .nullable()
      .describe('When the password was last set (creation, a change, a reset by the owner or an admin); null: before Mailroom kept it'),
    createdAt: isoDateTimeSchema,
    updatedAt: isoDateTimeSchema,
  })
  .meta({ id: 'Mailbox' });
export type Mailbox = z.infer<typeof mailboxSchema>;

export const createMailboxBodySchema = z.object({
  localPart: localPartSchema,
  password: passwordSchema,
  displayName: displayNameSchema.nullable().optional(),
  quotaBytes: nullableByteLimitSchema.optional().describe("Default: the domain's defaultQuotaBytes"),
  enabled: z.boolean().optional(),
  loginDelaySeconds: loginDelaySecondsSchema.optional(),
  retentionDays: retentionDaysSchema.optional(),
});
export type CreateMailboxBody = z.infer<typeof createMailboxBodySchema>;

export const updateMailboxBodySchema = z.object({
  displayName: displayNameSchema.nullable().optional(),
  quotaBytes: nullableByteLimitSchema.optional(),
  enabled: z.boolean().optional(),
  loginDelaySeconds: loginDelaySecondsSchema.optional(),
  retentionDays: retentionDaysSchema.optional(),
});
export type UpdateMailboxBody = z.infer<typeof updateMailboxBodySchema>;

export const setMailboxPasswordBodySchema = z.object({ password: passwordSchema });
export type SetMailboxPasswordBody = z.infer<typeof setMailboxPasswordBodySchema>;

export const mailboxParamsSchema = z.object({ mailboxId: idSchema });
export const listMailboxesQuerySchema = paginationQuerySchema.extend({
  q: z.string().trim().max(200).optional().describe('Substring of the local part or display name'),
});
export const mailboxPageSchema = pageSchema(mailboxSchema);
