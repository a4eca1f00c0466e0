import { z } from 'zod';
import {
  API_KEY_SCOPES,
  byteCountSchema,
  idSchema,
  isoDateTimeSchema,
  nullableByteLimitSchema,
  nullableCountLimitSchema,
  passwordSchema,
} from './common.ts';
import { mailboxSchema } from './mailboxes.ts';

export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_COOKIE = 'mailroom_session';

export const loginBodySchema = z.object({
  email: z.string().trim().min(1).max(320).describe('Panel user email, or a mailbox address for mailbox users'),
  password: passwordSchema,
});
export type LoginBody = z.infer<typeof loginBodySchema>;

export const userRoleSchema = z.enum(['ADMIN', 'OWNER']);

export const meUserSchema = z.object({
  id: idSchema,
  email: z.string(),
  role: userRoleSchema,
  displayName: z.string().nullable(),
  maxDomains: nullableCountLimitSchema,
  maxMailboxes: nullableCountLimitSchema,
  maxStorageBytes: nullableByteLimitSchema,
  usage: z.object({ domains: z.number().int(), mailboxes: z.number().int(), usedBytes: byteCountSchema }),
  lastLoginAt: isoDateTimeSchema.nullable(),
  passwordChangedAt: isoDateTimeSchema.nullable().describe('When your password was last set; null: before Mailroom kept it'),
});

/** What a signed-in mailbox user sees of their own mailbox. */
export const meMailboxSchema = mailboxSchema
  .pick({
    id: true,
    address: true,
    domainId: true,
    displayName: true,
    quotaBytes: true,
    usedBytes: true,
    messageCount: true,
    enabled: true,
    lastLoginAt: true,
    passwordChangedAt: true,
  })
  .extend({
    mayChangeSenderRules: z
      .boolean()
      .describe('Whether this user may change their mailbox’s sender list (false where the domain’s owner keeps the mailboxes’ lists)'),
  });

export const meSchema = z
  .object({
    kind: z.enum(['user', 'mailbox']),
    authMethod: z.enum(['session', 'apiKey']),
    user: meUserSchema.nullable(),
    mailbox: meMailboxSchema.nullable(),
    /** Send back in the x-csrf-token header on POST/PUT/PATCH/DELETE made with the session cookie. */
    csrfToken: z.string().nullable(),
    /** Scopes of the API key in use (null for sessions, which carry all rights of their principal). */
    scopes: z.array(z.enum(API_KEY_SCOPES)).nullable(),
    passwordPolicy: z.object({ minLength: z.number().int() }),
  })
  .meta({ id: 'Me' });
export type Me = z.infer<typeof meSchema>;

export const changeOwnPasswordBodySchema = z.object({
  currentPassword: passwordSchema,
  newPassword: passwordSchema,
  revokeApiKeys: z.boolean().optional().describe('Panel users: also revoke every API key of yours, in the same step (default false)'),
});
export type ChangeOwnPasswordBody = z.infer<typeof changeOwnPasswordBodySchema>;
