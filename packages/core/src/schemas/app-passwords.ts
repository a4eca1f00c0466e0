import { z } from 'zod';
import { idSchema, isoDateTimeSchema } from './common.ts';

/** Live app passwords one mailbox may hold. */
export const MAX_APP_PASSWORDS_PER_MAILBOX = 20;

export const appPasswordSchema = z
  .object({
    id: idSchema,
    mailboxId: idSchema,
    name: z.string(),
    /** The public first group of the password, so a user can tell their devices' passwords apart. */
    selector: z.string().describe('First group of the app password (not secret): tells the passwords apart'),
    lastUsedAt: isoDateTimeSchema.nullable(),
    lastUsedIp: z.string().nullable(),
    createdAt: isoDateTimeSchema,
  })
  .meta({ id: 'AppPassword' });
export type AppPassword = z.infer<typeof appPasswordSchema>;

export const createdAppPasswordSchema = appPasswordSchema
  .extend({
    password: z.string().describe('The app password, shown only in this response (spaces and dashes are optional when typing it)'),
  })
  .meta({ id: 'CreatedAppPassword' });
export type CreatedAppPassword = z.infer<typeof createdAppPasswordSchema>;

export const createAppPasswordBodySchema = z.object({ name: z.string().trim().min(1).max(64).describe('Device name, e.g. "phone"') });
export type CreateAppPasswordBody = z.infer<typeof createAppPasswordBodySchema>;

export const appPasswordParamsSchema = z.object({ mailboxId: idSchema, appPasswordId: idSchema });

export const appPasswordListSchema = z
  .object({
    items: z.array(appPasswordSchema),
    requiredForPop3: z.boolean().nullable().describe("The mailbox's own setting: true/false, or null = the domain's (then the operator's)"),
    domainRequiredForPop3: z
      .boolean()
      .nullable()
      .describe("The domain's setting; null = the operator default (POP3_REQUIRE_APP_PASSWORDS)"),
  })
  .meta({ id: 'AppPasswordList' });
export type AppPasswordList = z.infer<typeof appPasswordListSchema>;

export const appPasswordPolicyBodySchema = z.object({
  requiredForPop3: z.boolean().nullable().describe('true: POP3 accepts app passwords only; false: the main password too; null: inherit'),
});
export type AppPasswordPolicyBody = z.infer<typeof appPasswordPolicyBodySchema>;
