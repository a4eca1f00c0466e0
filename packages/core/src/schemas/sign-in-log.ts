import { z } from 'zod';
import { idSchema, isoDateTimeSchema, paginationQuerySchema, pageSchema } from './common.ts';

export const SIGN_IN_RESULTS = [
  'ok',
  'second_factor',
  'wrong_password',
  'disabled',
  'app_password_required',
  'login_delay',
  'in_use',
] as const;

export const signInResultSchema = z
  .enum(SIGN_IN_RESULTS)
  .describe(
    'ok: signed in. second_factor: panel only, the right password, and a second factor (TOTP, passkey) was asked next. wrong_password: the address exists, the password did not match. disabled: the right password, but the mailbox, its domain or its owner is disabled. app_password_required: the main password over POP3 where only app passwords are accepted. login_delay: POP3 sign-in sooner than the LOGIN-DELAY allows. in_use: another POP3 session holds the maildrop',
  );
export type SignInResult = z.infer<typeof signInResultSchema>;
/** The results where the password was right and nothing refused it; every other result is a refusal (`failed`). */
export const SIGN_IN_PASSED = ['ok', 'second_factor'] as const satisfies readonly SignInResult[];
/** A refused attempt: what the `failed` filter lists, and what POP3 logs besides `ok`. */
export type SignInRefusal = Exclude<SignInResult, (typeof SIGN_IN_PASSED)[number]>;

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
    mechanism: z.string().nullable().describe('POP3: USER (USER/PASS) or PLAIN (AUTH PLAIN); panel: password'),
    appPasswordId: idSchema.nullable().describe('The app password used (POP3); null for the main password or once it is deleted'),
    appPasswordName: z.string().nullable(),
    attempts: z
      .number()
      .int()
      .describe(
        'Identical attempts (same service, result, address, TLS, mechanism, app password) within a day of the first share one entry',
      ),
    lastAt: isoDateTimeSchema.describe('The latest of those attempts (createdAt is the first)'),
  })
  .meta({ id: 'MailboxSignIn' });
export type MailboxSignIn = z.infer<typeof mailboxSignInSchema>;

export const listSignInsQuerySchema = paginationQuerySchema.extend({
  result: z
    .enum(['failed', ...SIGN_IN_RESULTS])
    .optional()
    .describe('One result, or `failed` for every refusal (every result but ok and second_factor)'),
  service: signInServiceSchema.optional(),
  from: isoDateTimeSchema.optional().describe('Inclusive lower bound of createdAt'),
  to: isoDateTimeSchema.optional().describe('Exclusive upper bound of createdAt'),
});
export type ListSignInsQuery = z.infer<typeof listSignInsQuerySchema>;
export const mailboxSignInPageSchema = pageSchema(mailboxSignInSchema);
