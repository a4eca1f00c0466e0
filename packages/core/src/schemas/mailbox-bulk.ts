import { z } from 'zod';
import { idSchema, nullableByteLimitSchema, queryBooleanSchema } from './common.ts';

/** Largest selection one bulk action takes (ids or filter matches). */
export const MAX_BULK_SELECTION = 10_000;

export const mailboxImportQuerySchema = z.object({
  dryRun: queryBooleanSchema.default(false).describe('Validate every row and report; nothing is written'),
  skipInvalid: queryBooleanSchema.default(false).describe('Import the valid rows and report the invalid ones (default: all-or-nothing)'),
});

export const mailboxImportIssueSchema = z
  .object({
    row: z.number().int().describe('CSV record number: 1 is the header row, 2 the first mailbox (blank lines are not counted)'),
    field: z.string().describe('address, password, displayName, quota, enabled, or "" for the whole row'),
    code: z
      .string()
      .describe('Stable code, e.g. invalid_local_part, duplicate_in_file, taken, alias_taken, too_short, invalid_size, limit_mailboxes'),
    message: z.string(),
  })
  .meta({ id: 'MailboxImportIssue' });
export type MailboxImportIssue = z.infer<typeof mailboxImportIssueSchema>;

export const generatedPasswordSchema = z
  .object({ row: z.number().int(), mailboxId: idSchema, address: z.string(), password: z.string() })
  .meta({ id: 'GeneratedPassword' });
export type GeneratedPassword = z.infer<typeof generatedPasswordSchema>;

export const mailboxImportReportSchema = z
  .object({
    dryRun: z.boolean(),
    rows: z.number().int().describe('Mailbox rows read (header excluded)'),
    valid: z.number().int(),
    invalid: z.number().int(),
    created: z.number().int().describe('Mailboxes created (0 in a dry run)'),
    passwordsToGenerate: z.number().int().describe('Valid rows with an empty password'),
    errors: z.array(mailboxImportIssueSchema).describe('At most 1,000 issues; errorCount has them all'),
    errorCount: z.number().int(),
    generatedPasswords: z
      .array(generatedPasswordSchema)
      .describe('Passwords generated for rows with an empty password: shown only in this response'),
  })
  .meta({ id: 'MailboxImportReport' });
export type MailboxImportReport = z.infer<typeof mailboxImportReportSchema>;

export const BULK_MAILBOX_ACTIONS = ['enable', 'disable', 'setQuota', 'resetPassword', 'delete'] as const;

export const mailboxSelectionSchema = z.union([
  z.object({ ids: z.array(idSchema).min(1).max(MAX_BULK_SELECTION) }).strict(),
  z
    .object({
      filter: z
        .object({
          q: z.string().trim().max(200).optional().describe('Substring of the local part or display name'),
          enabled: z.boolean().optional(),
        })
        .strict(),
    })
    .strict(),
]);
export type MailboxSelection = z.infer<typeof mailboxSelectionSchema>;

export const bulkMailboxBodySchema = z
  .object({
    action: z.enum(BULK_MAILBOX_ACTIONS),
    selection: mailboxSelectionSchema.describe(
      `Mailbox ids of this domain, or a filter over its mailboxes (at most ${MAX_BULK_SELECTION})`,
    ),
    quotaBytes: nullableByteLimitSchema.optional().describe('For setQuota: the new quota of every selected mailbox (null = unlimited)'),
  })
  .refine((b) => b.action !== 'setQuota' || b.quotaBytes !== undefined, { message: 'setQuota needs quotaBytes', path: ['quotaBytes'] });
export type BulkMailboxBody = z.infer<typeof bulkMailboxBodySchema>;

export const bulkMailboxResultSchema = z
  .object({
    action: z.enum(BULK_MAILBOX_ACTIONS),
    matched: z.number().int().describe('Mailboxes selected'),
    changed: z.number().int().describe('Mailboxes whose state changed'),
    generatedPasswords: z
      .array(generatedPasswordSchema.omit({ row: true }))
      .describe('resetPassword only: the new passwords, shown only in this response'),
  })
  .meta({ id: 'BulkMailboxResult' });
export type BulkMailboxResult = z.infer<typeof bulkMailboxResultSchema>;
