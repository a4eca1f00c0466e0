import { z } from 'zod';
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
