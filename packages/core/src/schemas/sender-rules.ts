import { z } from 'zod';
import { MAX_SENDER_RULES } from '../sender-rule-lines.ts';
import { idSchema, isoDateTimeSchema, paginationQuerySchema, pageSchema } from './common.ts';

const actionSchema = z
  .enum(['allow', 'block'])
  .describe(
    'block: refused (550 5.7.1) for the domain’s recipients, or the mailbox’s, at RCPT as MAIL FROM and at DATA as the From author; allow: MAIL FROM never greylisted (the sender checks still apply)',
  );

export const senderRuleSchema = z
  .object({
    id: idSchema,
    domainId: idSchema,
    domain: z.string(),
    mailboxId: idSchema.nullable().describe('Set for a mailbox’s own rule (it applies to that mailbox only); null for a domain’s rule'),
    mailbox: z.string().nullable().describe('The mailbox’s address, for a mailbox’s own rule'),
    pattern: z
      .string()
      .describe('An address (name@example.com), a domain (example.com, covering its subdomains) or a top-level domain (.xyz), as stored'),
    action: actionSchema,
    createdAt: isoDateTimeSchema,
    updatedAt: isoDateTimeSchema,
  })
  .meta({ id: 'SenderRule' });
export type SenderRule = z.infer<typeof senderRuleSchema>;

export const createSenderRuleBodySchema = z.object({
  pattern: z
    .string()
    .min(1)
    .max(320)
    .describe(
      'name@example.com, or example.com (also @example.com or *@example.com), or .xyz for a whole top-level domain (also *.xyz); IDN domains accepted; case does not matter',
    ),
  action: actionSchema,
});
export type CreateSenderRuleBody = z.infer<typeof createSenderRuleBodySchema>;

export const updateSenderRuleBodySchema = z.object({ action: actionSchema });
export type UpdateSenderRuleBody = z.infer<typeof updateSenderRuleBodySchema>;

export const senderRuleParamsSchema = z.object({ ruleId: idSchema });
export const listSenderRulesQuerySchema = paginationQuerySchema;
export const senderRulePageSchema = pageSchema(senderRuleSchema);

export const importSenderRulesBodySchema = z.object({
  rules: z
    .array(createSenderRuleBodySchema)
    .max(MAX_SENDER_RULES)
    .describe(
      'The senders to list, in any spelling a single rule accepts; the same sender twice (in any spelling) with the same action counts once',
    ),
  replace: z
    .boolean()
    .default(false)
    .describe('true: rules of the list that the import does not name are deleted, so the list becomes exactly `rules`'),
  dryRun: z.boolean().default(false).describe('true: check and answer the report without changing anything'),
});
export type ImportSenderRulesBody = z.infer<typeof importSenderRulesBodySchema>;

export const senderRuleImportIssueSchema = z
  .object({
    index: z.number().int().describe('Position of the entry in `rules`, from 0'),
    pattern: z.string(),
    code: z.enum(['invalid_pattern', 'conflicting_duplicate']),
    message: z.string(),
    earlier: z.number().int().optional().describe('conflicting_duplicate: the index of the entry it contradicts'),
  })
  .meta({ id: 'SenderRuleImportIssue' });
export type SenderRuleImportIssue = z.infer<typeof senderRuleImportIssueSchema>;

export const senderRuleImportReportSchema = z
  .object({
    dryRun: z.boolean(),
    created: z.number().int(),
    updated: z.number().int().describe('Listed senders whose action the import changed'),
    unchanged: z.number().int().describe('Listed senders that already had the imported action'),
    deleted: z.number().int().describe('Rules deleted by `replace`'),
    duplicates: z.number().int().describe('Entries that named a sender an earlier entry named'),
    total: z.number().int().describe('Rules in the list after the import (or after it would run, for a dry run)'),
    rules: z
      .array(
        z.object({ pattern: z.string().describe('As stored'), action: actionSchema, outcome: z.enum(['created', 'updated', 'unchanged']) }),
      )
      .describe('Each imported sender once, in the order given'),
    deletedPatterns: z.array(z.string()).describe('The patterns `replace` deleted (or would delete)'),
  })
  .meta({ id: 'SenderRuleImportReport' });
export type SenderRuleImportReport = z.infer<typeof senderRuleImportReportSchema>;
