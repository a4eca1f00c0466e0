import { z } from 'zod';
import { byteCountSchema, idSchema, isoDateTimeSchema, paginationQuerySchema, pageSchema } from './common.ts';

/** Quota warning thresholds: distinct whole percentages 1-100 of a mailbox's quota, at most 5, kept in ascending order. */
export const quotaWarningThresholdsSchema = z
  .array(z.number().int().min(1).max(100))
  .max(5)
  .refine((a) => new Set(a).size === a.length, { message: 'thresholds must be distinct' })
  .transform((a) => [...a].sort((x, y) => x - y))
  .describe('Percentages of a mailbox quota at which a warning is delivered into the mailbox, e.g. [80, 95]');

export const deliveryResultSchema = z
  .enum(['delivered', 'refused', 'deferred'])
  .describe('delivered: stored (mailbox and UID); refused: 5xx, the sender bounces; deferred: 4xx, the sender retries');
export type DeliveryResult = z.infer<typeof deliveryResultSchema>;

export const deliveryLogEntrySchema = z
  .object({
    id: idSchema,
    createdAt: isoDateTimeSchema,
    result: deliveryResultSchema,
    replyCode: z.number().int().describe('SMTP/LMTP reply code, e.g. 250, 452, 550'),
    enhancedCode: z.string().nullable().describe('RFC 3463 enhanced status code, e.g. 5.1.1'),
    reason: z.string().nullable(),
    envelopeFrom: z.string().describe('MAIL FROM; empty for the null reverse-path (bounces)'),
    headerFrom: z
      .string()
      .nullable()
      .describe(
        "The message's author: the first address of its From field, what the recipient's mail client shows as the sender. Null before DATA, when the From field names no address, and in entries logged before Mailroom recorded it",
      ),
    recipient: z.string().describe('RCPT TO as given'),
    domainId: idSchema.nullable(),
    mailboxId: idSchema.nullable().describe('The mailbox stored into (delivered) or refused for (e.g. over quota)'),
    uid: z.number().int().nullable().describe('UID of the stored copy in the mailbox'),
    sizeOctets: z.number().int().nullable().describe('Message size as received; null when refused before DATA'),
    messageId: z.string().nullable().describe('The Message-ID header field; null before DATA or without one'),
    clientAddress: z.string(),
    protocol: z.string().describe('LMTP, SMTP, ESMTP, ESMTPS, ...'),
    queueId: z.string().describe('The id in the reply and in the Received field'),
  })
  .meta({ id: 'DeliveryLogEntry' });
export type DeliveryLogEntry = z.infer<typeof deliveryLogEntrySchema>;

const addressFilterSchema = z.string().trim().min(1).max(320);

export const listDeliveryLogQuerySchema = paginationQuerySchema.extend({
  result: deliveryResultSchema.optional(),
  sender: addressFilterSchema.optional().describe('The envelope sender or the From author contains this (case-insensitive)'),
  recipient: addressFilterSchema.optional().describe('Recipient contains this (case-insensitive)'),
  from: isoDateTimeSchema.optional().describe('Inclusive lower bound of createdAt'),
  to: isoDateTimeSchema.optional().describe('Exclusive upper bound of createdAt'),
});
export type ListDeliveryLogQuery = z.infer<typeof listDeliveryLogQuerySchema>;
export const deliveryLogPageSchema = pageSchema(deliveryLogEntrySchema);

/** A mailbox at or above a quota warning threshold (for the owner's dashboard). */
export const quotaWarningMailboxSchema = z
  .object({
    mailboxId: idSchema,
    domainId: idSchema,
    address: z.string(),
    usedBytes: byteCountSchema,
    quotaBytes: byteCountSchema,
    percentUsed: z.number().describe('usedBytes / quotaBytes in percent, one decimal'),
    warnedPercent: z.number().int().describe('The highest threshold reached'),
    warnedAt: isoDateTimeSchema.nullable().describe('When the last warning was delivered into the mailbox'),
  })
  .meta({ id: 'QuotaWarningMailbox' });
export type QuotaWarningMailbox = z.infer<typeof quotaWarningMailboxSchema>;
export const quotaWarningMailboxPageSchema = pageSchema(quotaWarningMailboxSchema);
export const listQuotaWarningsQuerySchema = paginationQuerySchema;
