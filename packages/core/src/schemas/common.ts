// Browser-safe building blocks shared by every resource schema. No Node built-ins here: the web panel imports them.
import { z } from 'zod';
import { isValidLocalPart, looksLikeAddress, looksLikeDomainName, MAX_DOMAIN_OCTETS } from '../address-rules.ts';
import { ERROR_CODES } from '../errors.ts';

/** Largest byte count a JSON number carries exactly. */
export const MAX_BYTE_COUNT = Number.MAX_SAFE_INTEGER;
export const MAX_PAGE_LIMIT = 200;
export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PASSWORD_LENGTH = 1024;
export { isValidLocalPart, looksLikeAddress, looksLikeDomainName, MAX_DOMAIN_OCTETS, MAX_LOCAL_PART_OCTETS } from '../address-rules.ts';

export const idSchema = z.uuid().describe('Resource id (UUID v7)');
export const isoDateTimeSchema = z.iso.datetime({ offset: true });
export const byteCountSchema = z.number().int().min(0).max(MAX_BYTE_COUNT).describe('Byte count');
export const nullableByteLimitSchema = byteCountSchema.nullable().describe('Byte count; null means unlimited');
export const nullableCountLimitSchema = z.number().int().min(0).max(1_000_000_000).nullable().describe('Count; null means unlimited');

/** Largest POP3 LOGIN-DELAY (seconds) and EXPIRE (days) a domain or mailbox may set. */
export const MAX_LOGIN_DELAY_SECONDS = 86_400;
export const MAX_RETENTION_DAYS = 36_500;
export const loginDelaySecondsSchema = z
  .number()
  .int()
  .min(0)
  .max(MAX_LOGIN_DELAY_SECONDS)
  .nullable()
  .describe('Minimum seconds between POP3 logins (RFC 2449 LOGIN-DELAY), 0 = none; null: inherited (mailbox → domain → operator default)');
export const retentionDaysSchema = z
  .union([z.number().int().min(0).max(MAX_RETENTION_DAYS), z.literal('never')])
  .nullable()
  .describe(
    'Days messages are kept (RFC 2449 EXPIRE); 0 = a message is deleted at the QUIT of the POP3 session that retrieved it; ' +
      '"never" = kept until a client deletes it (overrides an inherited retention); ' +
      'null: inherited (mailbox → domain → operator default POP3_EXPIRE_DAYS, NEVER by default)',
  );
/** A stored or returned retention: days, "never", or null (inherited). */
export const retentionDaysValueSchema = z.union([z.number().int(), z.literal('never')]).nullable();

export const emailSchema = z.string().trim().min(3).max(254).refine(looksLikeAddress, 'must be an email address like name@example.com');

export const localPartSchema = z
  .string()
  .trim()
  .min(1)
  .max(256)
  .refine(
    isValidLocalPart,
    "must be a valid local part (letters, digits and !#$%&'*+/=?^_`{|}~- separated by single dots, at most 64 octets)",
  );
export const domainNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(MAX_DOMAIN_OCTETS * 4)
  .refine(looksLikeDomainName, 'must be a domain name like example.com (no trailing dot, no IP address)');
/** Any password the caller submits; the server applies the configurable policy (length, common passwords). */
export const passwordSchema = z.string().min(1).max(MAX_PASSWORD_LENGTH);
export const displayNameSchema = z.string().trim().max(200);

export const paginationQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(DEFAULT_PAGE_LIMIT).describe(`Page size, 1–${MAX_PAGE_LIMIT}`),
  cursor: z.string().min(1).max(1024).optional().describe('nextCursor from the previous page'),
});

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().describe('Pass as `cursor` to get the next page; null on the last page'),
  });
}

/** Query flag accepting true/false/1/0. */
export const queryBooleanSchema = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const fieldIssueSchema = z.object({ path: z.string(), message: z.string(), code: z.string().optional() });

/** RFC 9457 problem details with Mailroom's stable machine code. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    code: z.enum(ERROR_CODES),
    requestId: z.string().optional(),
    errors: z.array(fieldIssueSchema).optional().describe('One entry per invalid field'),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'Problem' });
export type Problem = z.infer<typeof problemSchema>;

export const API_KEY_SCOPES = [
  'owners:read',
  'owners:write',
  'domains:read',
  'domains:write',
  'mailboxes:read',
  'mailboxes:write',
  'aliases:read',
  'aliases:write',
  'api-keys:read',
  'api-keys:write',
  'audit:read',
  'webhooks:read',
  'webhooks:write',
] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
export const apiKeyScopeSchema = z.enum(API_KEY_SCOPES);
