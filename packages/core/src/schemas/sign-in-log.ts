import { z } from 'zod';
import { idSchema, isoDateTimeSchema, paginationQuerySchema, pageSchema } from './common.ts';

export const SIGN_IN_RESULTS = [
  'ok',
  'second_factor',
  'wrong_password',
  'wrong_second_factor',
  'passkey_refused',
  'disabled',
  'app_password_required',
  'login_delay',
  'in_use',
] as const;

export const signInResultSchema = z
  .enum(SIGN_IN_RESULTS)
  .describe(
    'ok: signed in (the mechanism says how: a password, or the second step that completed it). second_factor: panel only, the right password, and a second step (TOTP, passkey, or enrolling one) was asked next. wrong_password: the account exists, the password did not match. wrong_second_factor: panel only, the right password, then a wrong TOTP or recovery code or a refused passkey (someone knows the password). passkey_refused: a passwordless sign-in with a registered passkey whose proof did not verify. disabled: the right password, but the mailbox, its domain or its owner is disabled. app_password_required: the main password over POP3 where only app passwords are accepted. login_delay: POP3 sign-in sooner than the LOGIN-DELAY allows. in_use: another POP3 session holds the maildrop',
  );
export type SignInResult = z.infer<typeof signInResultSchema>;
/** The results where the password was right and nothing refused it; every other result is a refusal (`failed`). */
export const SIGN_IN_PASSED = ['ok', 'second_factor'] as const satisfies readonly SignInResult[];
/** A refused attempt: what the `failed` filter lists, and what POP3 logs besides `ok`. */
export type SignInRefusal = Exclude<SignInResult, (typeof SIGN_IN_PASSED)[number]>;

const deviceSchema = z
  .string()
  .nullable()
  .describe('Panel: browser and system, read simply from the User-Agent ("Firefox 128 on Linux"); null for POP3');

export const signInServiceSchema = z.enum(['pop3', 'panel']);
export type SignInService = z.infer<typeof signInServiceSchema>;

export const mailboxSignInSchema = z
  .object({
    id: idSchema,
    createdAt: isoDateTimeSchema,
    mailboxId: idSchema,
    service: signInServiceSchema,
    result: signInResultSchema,
    clientAddress: z.string().describe("The client's IP address (the PROXY protocol's source behind a proxy)"),
    tls: z.boolean().nullable().describe('POP3: whether the connection was encrypted (STLS or port 995); null for the panel'),
    mechanism: z
      .string()
      .nullable()
      .describe('POP3: USER (USER/PASS) or PLAIN (AUTH PLAIN); panel: password, totp or recovery (the step this entry records)'),
    appPasswordId: idSchema.nullable().describe('The app password used (POP3); null for the main password or once it is deleted'),
    appPasswordName: z.string().nullable(),
    attempts: z
      .number()
      .int()
      .describe(
        'Identical attempts (same service, result, address, TLS, mechanism, app password) within a day of the first share one entry',
      ),
    lastAt: isoDateTimeSchema.describe('The latest of those attempts (createdAt is the first)'),
    device: deviceSchema,
  })
  .meta({ id: 'MailboxSignIn' });
export type MailboxSignIn = z.infer<typeof mailboxSignInSchema>;

const signInRangeQuerySchema = paginationQuerySchema.extend({
  result: z
    .enum(['failed', ...SIGN_IN_RESULTS])
    .optional()
    .describe('One result, or `failed` for every refusal (every result but ok and second_factor)'),
  from: isoDateTimeSchema.optional().describe('Inclusive lower bound of createdAt'),
  to: isoDateTimeSchema.optional().describe('Exclusive upper bound of createdAt'),
  lastAfter: isoDateTimeSchema
    .optional()
    .describe(
      'Only entries whose latest attempt (lastAt) is after this instant, e.g. refusals since a password change (an entry counts attempts for a day after its first)',
    ),
});
export const listSignInsQuerySchema = signInRangeQuerySchema.extend({ service: signInServiceSchema.optional() });
export type ListSignInsQuery = z.infer<typeof listSignInsQuerySchema>;
export const mailboxSignInPageSchema = pageSchema(mailboxSignInSchema);

/** How a panel user's sign-in step was made. */
export const PANEL_SIGN_IN_MECHANISMS = ['password', 'passkey', 'totp', 'recovery'] as const;
export type PanelSignInMechanism = (typeof PANEL_SIGN_IN_MECHANISMS)[number];

export const userSignInSchema = z
  .object({
    id: idSchema,
    createdAt: isoDateTimeSchema,
    userId: idSchema,
    result: signInResultSchema,
    clientAddress: z.string().describe("The client's IP address (X-Forwarded-For only from a trusted proxy)"),
    mechanism: z
      .enum(PANEL_SIGN_IN_MECHANISMS)
      .describe('The step this entry records: password, passkey (passwordless or as the second step), totp or recovery (code)'),
    device: deviceSchema,
    attempts: z
      .number()
      .int()
      .describe('Identical attempts (same result, address, mechanism, browser) within a day of the first share one entry'),
    lastAt: isoDateTimeSchema.describe('The latest of those attempts (createdAt is the first)'),
  })
  .meta({ id: 'UserSignIn' });
export type UserSignIn = z.infer<typeof userSignInSchema>;
export const listUserSignInsQuerySchema = signInRangeQuerySchema;
export type ListUserSignInsQuery = z.infer<typeof listUserSignInsQuerySchema>;
export const userSignInPageSchema = pageSchema(userSignInSchema);

/** How far back the password warnings look (and the panel's cards). */
export const PASSWORD_WARNING_DAYS = 30;

export const passwordWarningSchema = z
  .object({
    kind: z.enum(['mailbox', 'user']).describe('A mailbox, or a panel user (an owner or an admin: administrators only)'),
    id: idSchema.describe('The mailbox id, or the user id'),
    name: z.string().describe("The mailbox's address, or the user's email"),
    domainId: idSchema.nullable().describe("The mailbox's domain; null for a user"),
    role: z.enum(['ADMIN', 'OWNER']).nullable().describe("A user's role; null for a mailbox"),
    lastAt: isoDateTimeSchema.describe('The latest refused second step'),
    clientAddress: z.string().describe('Where it came from'),
    mechanism: z.string().nullable().describe('The refused step: totp, recovery or passkey'),
    attempts: z.number().int().describe('Refused attempts counted in that log entry'),
  })
  .meta({ id: 'PasswordWarning' });
export type PasswordWarning = z.infer<typeof passwordWarningSchema>;
export const passwordWarningListSchema = z.object({ items: z.array(passwordWarningSchema) }).meta({ id: 'PasswordWarningList' });
export type PasswordWarningList = z.infer<typeof passwordWarningListSchema>;
