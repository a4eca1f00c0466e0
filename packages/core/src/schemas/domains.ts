import { z } from 'zod';
import { quotaWarningThresholdsSchema } from './delivery-log.ts';
import { mtaStsModeSchema } from './mta-sts.ts';
import {
  byteCountSchema,
  domainNameSchema,
  idSchema,
  isoDateTimeSchema,
  loginDelaySecondsSchema,
  nullableByteLimitSchema,
  nullableCountLimitSchema,
  paginationQuerySchema,
  pageSchema,
  queryBooleanSchema,
  retentionDaysSchema,
  retentionDaysValueSchema,
} from './common.ts';

/** pending: an unverified claim, nothing is hosted (mail refused, no logins); verified: hosted. */
export const verificationStatusSchema = z
  .enum(['pending', 'verified'])
  .describe('pending: ownership not proven yet, nothing is hosted; verified: hosted');
export const verificationRecordSchema = z
  .object({
    type: z.literal('TXT'),
    name: z.string().describe('`_mailroom.<domain>`'),
    value: z.string().describe('`mailroom-verify=<token>`'),
  })
  .meta({ id: 'VerificationRecord' });

export const domainSchema = z
  .object({
    id: idSchema,
    name: z.string().describe('Lowercase ASCII (IDNs as punycode)'),
    ownerId: idSchema,
    ownerEmail: z.string(),
    active: z.boolean(),
    description: z.string().nullable(),
    maxMailboxes: nullableCountLimitSchema,
    maxStorageBytes: nullableByteLimitSchema,
    defaultQuotaBytes: nullableByteLimitSchema,
    usedBytes: byteCountSchema,
    loginDelaySeconds: z.number().int().nullable().describe('POP3 LOGIN-DELAY (RFC 2449) for the domain; null: the operator default'),
    retentionDays: retentionDaysValueSchema.describe(
      'POP3 EXPIRE (RFC 2449) for the domain: days messages are kept, 0 = deleted once retrieved, "never"; null: the operator default',
    ),
    quotaWarningThresholds: z
      .array(z.number().int())
      .nullable()
      .describe('Quota warning thresholds in percent; null: the operator default'),
    greylisting: z
      .boolean()
      .nullable()
      .describe("Greylisting of the domain's recipients on the SMTP listener; null: the operator default (INGRESS_GREYLIST)"),
    mailboxUsersSenderRules: z
      .boolean()
      .nullable()
      .describe('Whether mailbox users change their own mailbox’s sender list; null: yes (the default); false: only the owner does'),
    mtaStsMode: mtaStsModeSchema
      .nullable()
      .describe('The MTA-STS policy served for the domain (GET/PUT /domains/{id}/mta-sts); null: none published'),
    mtaStsRecordStatus: z
      .enum(['ok', 'missing', 'different'])
      .nullable()
      .describe(
        'Last periodic check of the `_mta-sts` TXT record (different: it names another policy id, so senders keep an older ' +
          'policy); null: no mode, or not checked since the mode last changed',
      ),
    mailboxCount: z.number().int(),
    aliasCount: z.number().int(),
    aliasOf: z
      .object({ id: idSchema, name: z.string() })
      .nullable()
      .describe('For an alias domain, the domain its mail goes to (name@this is delivered as name@that); null for a domain'),
    aliasDomainCount: z.number().int().describe('Alias domains whose mail comes to this domain'),
    verificationStatus: verificationStatusSchema,
    verifiedAt: isoDateTimeSchema.nullable(),
    claimExpiresAt: isoDateTimeSchema.nullable().describe('Pending claims are removed at this time unless verified'),
    verificationRecord: verificationRecordSchema.nullable().describe('The TXT record to publish while pending; null once verified'),
    mxStatus: z
      .enum(['ok', 'missing', 'different'])
      .nullable()
      .describe('Last periodic MX re-check of a verified domain (different/missing: mail may no longer reach Mailroom); null: not checked'),
    lastDnsCheckAt: isoDateTimeSchema.nullable(),
    createdAt: isoDateTimeSchema,
    updatedAt: isoDateTimeSchema,
  })
  .meta({ id: 'Domain' });
export type Domain = z.infer<typeof domainSchema>;

const descriptionSchema = z.string().trim().max(500).nullable();

/** The settings a domain is created with and that can be changed later. */
const domainSettingsShape = {
  description: descriptionSchema.optional(),
  maxMailboxes: nullableCountLimitSchema.optional().describe('Admins only'),
  maxStorageBytes: nullableByteLimitSchema.optional().describe('Admins only'),
  defaultQuotaBytes: nullableByteLimitSchema.optional(),
  loginDelaySeconds: loginDelaySecondsSchema.optional(),
  retentionDays: retentionDaysSchema.optional(),
  quotaWarningThresholds: quotaWarningThresholdsSchema
    .refine((a) => a.length > 0, { message: 'give at least one threshold, or null for the operator default' })
    .nullable()
    .optional()
    .describe('1-5 distinct percentages, e.g. [80, 95]; null = the operator default (QUOTA_WARNING_THRESHOLDS)'),
  greylisting: z
    .boolean()
    .nullable()
    .optional()
    .describe(
      "Greylisting (RFC 6647) of mail to the domain's addresses from other servers: true defers a new sender's first " +
        'attempt, false never does; null = the operator default (INGRESS_GREYLIST)',
    ),
  mailboxUsersSenderRules: z
    .boolean()
    .nullable()
    .optional()
    .describe(
      'false: only the owner (and admins, and keys with mailboxes:write) changes the sender lists of the domain’s mailboxes; ' +
        'their users see theirs and get 403 SENDER_RULES_OWNER_ONLY for a change. null or true: mailbox users keep their own (the default)',
    ),
};

export const createDomainBodySchema = z.object({
  name: domainNameSchema,
  ownerId: idSchema.optional().describe('Admins only: the owner of the new domain (default: the caller)'),
  verified: z
    .boolean()
    .optional()
    .describe('Unrestricted admins only: create it verified (ownership proven elsewhere). Default: pending until POST …/verify'),
  aliasOf: idSchema
    .optional()
    .describe(
      'Make it an alias domain of this verified domain of the same owner: mail to name@new is delivered as to name@target. ' +
        'It cannot hold mailboxes or aliases, nor the settings that only apply to them (limits, default quota, POP3 policy, ' +
        'quota warnings, greylisting: give them null or leave them out); PATCH can point it at another domain later',
    ),
  ...domainSettingsShape,
});
export type CreateDomainBody = z.infer<typeof createDomainBodySchema>;

export const updateDomainBodySchema = z.object({
  ownerId: idSchema.optional().describe('Admins only: transfer the domain'),
  active: z.boolean().optional().describe('false disables the domain: its mailboxes cannot sign in or receive'),
  aliasOf: idSchema
    .nullable()
    .optional()
    .describe(
      'Point an alias domain at another verified domain of the same owner, or null to make it a domain of its own ' +
        '(mail to its addresses is refused until it has mailboxes or aliases). A domain that holds no mailboxes, aliases ' +
        'or alias domains becomes an alias domain this way (its settings of mailboxes are cleared)',
    ),
  ...domainSettingsShape,
});
export type UpdateDomainBody = z.infer<typeof updateDomainBodySchema>;

export const domainParamsSchema = z.object({ domainId: idSchema });
export const listDomainsQuerySchema = paginationQuerySchema.extend({
  q: z.string().trim().max(253).optional().describe('Substring of the name'),
  ownerId: idSchema.optional().describe("Admins: only this owner's domains"),
  aliasOf: idSchema.optional().describe('Only the alias domains of this domain'),
});
export const deleteDomainQuerySchema = z.object({
  force: queryBooleanSchema.optional().describe('Delete even when mailboxes exist (their messages are lost)'),
});
export const domainPageSchema = pageSchema(domainSchema);
export const domainSummarySchema = z
  .object({
    domains: z.number().int().describe('Every domain visible to the caller (pending claims included)'),
    pending: z.number().int().describe('Pending claims awaiting ownership verification'),
    mxFlagged: z.number().int().describe('Verified domains whose last MX re-check found the record missing or pointing elsewhere'),
    mtaStsFlagged: z
      .number()
      .int()
      .describe('Verified domains with an MTA-STS mode whose last re-check found the _mta-sts record missing or naming another policy id'),
  })
  .meta({ id: 'DomainSummary' });
export type DomainSummary = z.infer<typeof domainSummarySchema>;

export const DNS_RECORD_PURPOSES = [
  'verification',
  'mx',
  'autoconfig',
  'autodiscover',
  'pop3s-srv',
  'pop3-srv',
  'dmarc',
  'mta-sts-host',
  'mta-sts',
  'tls-rpt',
] as const;
export const dnsCheckStatusSchema = z.enum(['ok', 'missing', 'different']);
export const dnsRecordSchema = z
  .object({
    purpose: z.enum(DNS_RECORD_PURPOSES),
    type: z.enum(['TXT', 'MX', 'CNAME', 'SRV']),
    name: z.string().describe('Fully qualified owner name of the record'),
    value: z.string().describe('Record data as zone files write it (SRV: `priority weight port target`)'),
    priority: z.number().int().nullable().describe('MX preference; null for other types'),
    required: z.boolean().describe('true: needed for verification or mail delivery; false: recommended'),
    description: z.string(),
    check: z
      .object({ status: dnsCheckStatusSchema, found: z.array(z.string()).describe('What DNS answered for the name and type') })
      .nullable()
      .describe('Live check result with ?check=true; null otherwise'),
  })
  .meta({ id: 'DnsRecord' });
export type DnsRecord = z.infer<typeof dnsRecordSchema>;
export const domainDnsSchema = z
  .object({
    domainId: idSchema,
    domain: z.string(),
    verificationStatus: verificationStatusSchema,
    records: z.array(dnsRecordSchema),
    notes: z.array(z.string()),
    checkedAt: isoDateTimeSchema.nullable().describe('When the live check ran; null without ?check=true'),
  })
  .meta({ id: 'DomainDns' });
export type DomainDns = z.infer<typeof domainDnsSchema>;
export const domainDnsQuerySchema = z.object({
  check: queryBooleanSchema.optional().describe('Resolve every record now and compare (DNS_UNAVAILABLE when the resolver fails)'),
});
/** POST …/verify takes no input: an empty JSON object, or no body at all. */
export const verifyDomainBodySchema = z.object({}).strict();
