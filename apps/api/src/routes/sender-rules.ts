import {
  createMailboxSenderRule,
  createSenderRule,
  deleteSenderRule,
  exportSenderRulesCsv,
  getSenderRule,
  importSenderRules,
  listMailboxSenderRules,
  listSenderRules,
  updateSenderRule,
} from '@mailroom/core';
import {
  createSenderRuleBodySchema,
  domainParamsSchema,
  importSenderRulesBodySchema,
  listSenderRulesQuerySchema,
  mailboxParamsSchema,
  senderRulePageSchema,
  senderRuleImportReportSchema,
  senderRuleParamsSchema,
  senderRuleSchema,
  updateSenderRuleBodySchema,
} from '@mailroom/core/schemas';
import { z } from 'zod';
import { actorOf } from '../plugins/auth.ts';
import { noContentSchema, problems, READ_SECURITY, WRITE_SECURITY, type RouteContext, type ZodApp } from './common.ts';

const tags = ['sender-rules'];
const WHO_RULE =
  'A domain’s rules: owners and admins (scope domains:read/write). A mailbox’s own rules: owners and admins (scope mailboxes:read/write) and the mailbox’s user (to change it, unless the domain’s owner keeps the mailboxes’ lists: 403 SENDER_RULES_OWNER_ONLY); any other rule is 404.';

const WHO_DOMAIN_LIST = 'Owners and admins (scope domains:write to import, domains:read to export) for domains they can see.';
const WHO_MAILBOX_LIST =
  'Owners and admins (scope mailboxes:write to import, mailboxes:read to export) for mailboxes they can see, and a mailbox user for their own (to import, unless the domain’s owner keeps the mailboxes’ lists: 403 SENDER_RULES_OWNER_ONLY).';

export async function senderRuleRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  app.post('/domains/:domainId/sender-rules', {
    schema: {
      tags,
      operationId: 'createSenderRule',
      summary: 'Block or allow a sender (an address, or a domain with its subdomains) for the domain’s recipients',
      description:
        'Applies on the SMTP listener: a blocked sender is refused at RCPT with 550 5.7.1 when it is MAIL FROM, and at DATA when it is the message’s From author (other recipients of the message still get it); an allowed MAIL FROM is never greylisted (SPF, DKIM and DMARC still apply). Mail to postmaster is never refused by a block (RFC 5321 §4.5.1). The most specific rule wins. 409 ALREADY_EXISTS when the pattern is listed, DOMAIN_IS_ALIAS for an alias domain (its target’s rules apply); 422 LIMIT_SENDER_RULES_EXCEEDED at 1,000 rules.',
      params: domainParamsSchema,
      body: createSenderRuleBodySchema,
      response: { 201: senderRuleSchema, ...problems(409, 422) },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => reply.code(201).send(await createSenderRule(ctx.services, actorOf(req), req.params.domainId, req.body)),
  });
  app.get('/domains/:domainId/sender-rules', {
    schema: {
      tags,
      operationId: 'listSenderRules',
      summary: 'List a domain’s own sender rules (not its mailboxes’), in the order of their patterns',
      params: domainParamsSchema,
      querystring: listSenderRulesQuerySchema,
      response: { 200: senderRulePageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listSenderRules(ctx.services.prisma, actorOf(req), req.params.domainId, req.query),
  });
  app.post('/mailboxes/:mailboxId/sender-rules', {
    schema: {
      tags,
      operationId: 'createMailboxSenderRule',
      summary: 'Block or allow a sender for one mailbox (its own list, beside its domain’s)',
      description:
        'Owners and admins (scope mailboxes:write) for mailboxes they can see, and a mailbox user for their own unless the domain’s owner keeps the mailboxes’ lists (`mailboxUsersSenderRules: false` on the domain: 403 SENDER_RULES_OWNER_ONLY). Applies on the SMTP listener to mail for this mailbox, directly or through an alias: blocked, it is refused with 550 5.7.1, at RCPT as MAIL FROM and at DATA as the From author (an alias leaves the mailbox out, and is refused when every destination blocks); allowed as MAIL FROM, it is never greylisted. A block in the domain’s list or the mailbox’s refuses; an allow in either skips greylisting. 409 ALREADY_EXISTS when the pattern is listed; 422 LIMIT_SENDER_RULES_EXCEEDED at 1,000 rules.',
      params: mailboxParamsSchema,
      body: createSenderRuleBodySchema,
      response: { 201: senderRuleSchema, ...problems(409, 422) },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) =>
      reply.code(201).send(await createMailboxSenderRule(ctx.services, actorOf(req), req.params.mailboxId, req.body)),
  });
  app.get('/mailboxes/:mailboxId/sender-rules', {
    schema: {
      tags,
      operationId: 'listMailboxSenderRules',
      summary: 'List a mailbox’s own sender rules, in the order of their patterns',
      description: 'Owners and admins (scope mailboxes:read) for mailboxes they can see, and a mailbox user for their own.',
      params: mailboxParamsSchema,
      querystring: listSenderRulesQuerySchema,
      response: { 200: senderRulePageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listMailboxSenderRules(ctx.services.prisma, actorOf(req), req.params.mailboxId, req.query),
  });
  for (const kind of ['domain', 'mailbox'] as const) {
    const path = kind === 'domain' ? '/domains/:domainId/sender-rules' : '/mailboxes/:mailboxId/sender-rules';
    const params = kind === 'domain' ? domainParamsSchema : mailboxParamsSchema;
    const listId = (p: { domainId?: string; mailboxId?: string }) => ({ kind, id: (kind === 'domain' ? p.domainId : p.mailboxId)! });
    const who = kind === 'domain' ? WHO_DOMAIN_LIST : WHO_MAILBOX_LIST;
    app.post(`${path}/import`, {
      schema: {
        tags,
        operationId: kind === 'domain' ? 'importSenderRules' : 'importMailboxSenderRules',
        summary: `Import many senders into the ${kind}’s own list at once (merge, or replace the list)`,
        description:
          `${who} Every entry is checked first: a pattern one rule would refuse (\`invalid_pattern\`), or one sender named twice with ` +
          'different actions in any spelling (`conflicting_duplicate`), answers 422 IMPORT_INVALID with `details.errors` ({index, ' +
          'pattern, code, message}) and changes nothing. Then, in one transaction: senders not listed are created, listed ones take ' +
          'the imported action, and with `replace: true` the list’s other rules are deleted. More than 1,000 rules after it is 422 ' +
          'LIMIT_SENDER_RULES_EXCEEDED and changes nothing. `dryRun: true` answers the same report and changes nothing. Audited ' +
          'per rule (sender-rule.create/update/delete) and once as sender-rule.import.',
        params,
        body: importSenderRulesBodySchema,
        response: { 200: senderRuleImportReportSchema, ...problems(409, 422) },
        security: WRITE_SECURITY,
      },
      handler: async (req) => importSenderRules(ctx.services, actorOf(req), listId(req.params), req.body),
    });
    app.get(`${path}/export`, {
      schema: {
        tags,
        operationId: kind === 'domain' ? 'exportSenderRules' : 'exportMailboxSenderRules',
        summary: `Export the ${kind}’s own list as CSV (pattern,action)`,
        description:
          `${who} A header row, then one rule per line in pattern order, CRLF; a cell starting with = + - @ gets a leading ` +
          'apostrophe (spreadsheet formula guard). The panel’s import reads the file again.',
        params,
        querystring: z.object({}).strict().describe('No options: the whole list, in pattern order'),
        response: { 200: z.string().describe('text/csv'), ...problems() },
        produces: ['text/csv'],
        security: READ_SECURITY,
      },
      handler: async (req, reply) => {
        const { name, csv } = await exportSenderRulesCsv(ctx.services.prisma, actorOf(req), listId(req.params));
        const filename = `sender-rules-${name}.csv`.replace(/[^A-Za-z0-9._-]/g, '_');
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${filename}"`)
          .header('cache-control', 'no-store')
          .send(csv);
      },
    });
  }
  app.get('/sender-rules/:ruleId', {
    schema: {
      tags,
      operationId: 'getSenderRule',
      summary: 'Get a sender rule',
      description: WHO_RULE,
      params: senderRuleParamsSchema,
      response: { 200: senderRuleSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => getSenderRule(ctx.services.prisma, actorOf(req), req.params.ruleId),
  });
  app.patch('/sender-rules/:ruleId', {
    schema: {
      tags,
      operationId: 'updateSenderRule',
      summary: 'Change a sender rule’s action',
      description: WHO_RULE,
      params: senderRuleParamsSchema,
      body: updateSenderRuleBodySchema,
      response: { 200: senderRuleSchema, ...problems() },
      security: WRITE_SECURITY,
    },
    handler: async (req) => updateSenderRule(ctx.services, actorOf(req), req.params.ruleId, req.body),
  });
  app.delete('/sender-rules/:ruleId', {
    schema: {
      tags,
      operationId: 'deleteSenderRule',
      summary: 'Delete a sender rule',
      description: WHO_RULE,
      params: senderRuleParamsSchema,
      response: { 204: noContentSchema, ...problems() },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => {
      await deleteSenderRule(ctx.services, actorOf(req), req.params.ruleId);
      return reply.code(204).send(null);
    },
  });
}
