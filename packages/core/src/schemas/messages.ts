import { z } from 'zod';
import { idSchema, isoDateTimeSchema, pageSchema, paginationQuerySchema } from './common.ts';

/** One message waiting in a mailbox, as listed from its header (RFC 2047 encoded-words decoded). */
export const messageSummarySchema = z
  .object({
    id: idSchema,
    uid: z.number().int().describe('Per-mailbox UID (delivery order, never reused)'),
    uidl: z.string().describe('POP3 UIDL'),
    from: z.string().nullable().describe('Decoded From header; null when missing'),
    fromAddress: z
      .string()
      .nullable()
      .describe('The first address of the From header (what a sender rule matches as the author); null when it names none'),
    envelopeFrom: z
      .string()
      .nullable()
      .describe('MAIL FROM as the sending server gave it (the Return-Path); empty for a bounce, null when unknown (imported mail)'),
    subject: z.string().nullable().describe('Decoded Subject header; null when missing'),
    date: isoDateTimeSchema.nullable().describe('Date header; null when missing or unparsable'),
    sizeOctets: z.number().int().describe('Octets as POP3 LIST reports them'),
    receivedAt: isoDateTimeSchema,
  })
  .meta({ id: 'MessageSummary' });
export type MessageSummary = z.infer<typeof messageSummarySchema>;

export const messagePageSchema = pageSchema(messageSummarySchema).meta({ id: 'MessagePage' });
export const listMessagesQuerySchema = paginationQuerySchema;
export type ListMessagesQuery = z.infer<typeof listMessagesQuerySchema>;

export const messageParamsSchema = z.object({ mailboxId: idSchema, messageId: idSchema });

export const deleteMessagesBodySchema = z.object({
  ids: z.array(idSchema).min(1).max(1000).describe('Messages to delete (ids from the listing); ids not in the mailbox are ignored'),
});
export type DeleteMessagesBody = z.infer<typeof deleteMessagesBodySchema>;

export const deletedMessagesSchema = z
  .object({ deleted: z.number().int(), bytes: z.number().int().describe('Octets freed') })
  .meta({ id: 'DeletedMessages' });
export type DeletedMessages = z.infer<typeof deletedMessagesSchema>;

export const MBOX_FORMATS = ['mboxrd', 'mboxo'] as const;
export type MboxFormat = (typeof MBOX_FORMATS)[number];

export const importMboxQuerySchema = z.object({
  format: z
    .enum(MBOX_FORMATS)
    .default('mboxrd')
    .describe('How `>From ` lines are unquoted: mboxrd (any number of >) or mboxo (exactly one)'),
});

export const mboxImportResultSchema = z
  .object({ imported: z.number().int(), bytes: z.number().int().describe('Octets stored') })
  .meta({ id: 'MboxImportResult' });
export type MboxImportResult = z.infer<typeof mboxImportResultSchema>;
