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
    requiredForPop3: z
      .boolean()
      .nullable()
      .describe(
        "The mailbox's setting, made by its owner, an admin or an API key: true/false, or null = the domain's (then the operator's). A mailbox user cannot change it",
      ),
    domainRequiredForPop3: z
      .boolean()
      .nullable()
      .describe("The domain's setting; null = the operator default (POP3_REQUIRE_APP_PASSWORDS)"),
    operatorRequiredForPop3: z
      .boolean()
      .describe('The operator default (POP3_REQUIRE_APP_PASSWORDS): applies when neither the mailbox nor its domain says true or false'),
    userRequiredForPop3: z
      .boolean()
      .describe(
        "The mailbox user's own opt-in: true requires app passwords for POP3 whatever the other settings say; it never allows the main password",
      ),
    enforcedForPop3: z
      .boolean()
      .describe(
        "App passwords required by the mailbox's setting, its domain or the operator default, whatever the mailbox user chose: the mailbox user cannot turn this off",
      ),
    effectiveRequiredForPop3: z
      .boolean()
      .describe('What POP3 applies now: true = only app passwords sign in (userRequiredForPop3 or enforcedForPop3)'),
  })
  .meta({ id: 'AppPasswordList' });
export type AppPasswordList = z.infer<typeof appPasswordListSchema>;

export const appPasswordPolicyBodySchema = z.object({
  requiredForPop3: z
    .boolean()
    .nullable()
    .describe(
      "Owners, admins and API keys set the mailbox's (or domain's) setting: true = POP3 accepts app passwords only; false = the main password too; null = inherit. " +
        'A mailbox user sets only their own opt-in for their mailbox: true = app passwords only; false or null = withdraw the opt-in, ' +
        'which never allows the main password where the owner, the domain or the operator requires app passwords',
    ),
});
export type AppPasswordPolicyBody = z.infer<typeof appPasswordPolicyBodySchema>;
