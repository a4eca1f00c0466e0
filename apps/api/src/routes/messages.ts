import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { AppError, deleteMessages, downloadMessage, exportMbox, listMessages, purgeMessages } from '@mailroom/core';
import {
  deletedMessagesSchema,
  deleteMessagesBodySchema,
  importMboxQuerySchema,
  listMessagesQuerySchema,
  mailboxParamsSchema,
  mboxImportResultSchema,
  messagePageSchema,
  messageParamsSchema,
} from '@mailroom/core/schemas';
import { actorOf } from '../plugins/auth.ts';
import { importMbox } from '../transfer/mailbox-transfer.ts';
import { problems, READ_SECURITY, WRITE_SECURITY, type RouteContext, type ZodApp } from './common.ts';

const tags = ['messages'];
export const MBOX_CONTENT_TYPE = 'application/mbox';
const WHO = "The domain's owner, admins (API keys with the mailboxes scopes) and the mailbox user itself; anyone else gets 404.";
const IN_USE =
  'Refused with 409 MAILBOX_IN_USE while a POP3 session holds the maildrop (RFC 1939: one session at a time); retry once the mail client has disconnected.';

function sendFile(reply: FastifyReply, contentType: string, fileName: string, body: AsyncIterable<Buffer>, length?: number): FastifyReply {
  reply
    .header('content-type', contentType)
    .header('content-disposition', `attachment; filename="${fileName}"`)
    .header('cache-control', 'no-store');
  if (length !== undefined) reply.header('content-length', length);
  return reply.send(Readable.from(body, { objectMode: false }));
}

export async function messageRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  // The mbox upload is handed to the route as the request stream: parsed message by message, never buffered whole.
  app.addContentTypeParser(MBOX_CONTENT_TYPE, (_req, payload, done) => done(null, payload));

  app.get('/mailboxes/:mailboxId/messages', {
    schema: {
      tags,
      operationId: 'listMessages',
      summary: 'List the messages waiting in a mailbox (POP3 order), from their headers',
      description: `From, Subject (RFC 2047 decoded) and Date are read from the first 64 KiB of each message only. ${WHO}`,
      params: mailboxParamsSchema,
      querystring: listMessagesQuerySchema,
      response: { 200: messagePageSchema, ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req) => listMessages(ctx.services.prisma, actorOf(req), req.params.mailboxId, req.query),
  });
  app.post('/mailboxes/:mailboxId/messages/delete', {
    schema: {
      tags,
      operationId: 'deleteMessages',
      summary: 'Delete selected messages of a mailbox',
      description: `Usage of the mailbox, domain and owner drops in the same transaction. ${IN_USE} ${WHO}`,
      params: mailboxParamsSchema,
      body: deleteMessagesBodySchema,
      response: { 200: deletedMessagesSchema, ...problems(409) },
      security: WRITE_SECURITY,
    },
    handler: async (req) => deleteMessages(ctx.services.prisma, actorOf(req), req.params.mailboxId, req.body.ids),
  });
  app.delete('/mailboxes/:mailboxId/messages', {
    schema: {
      tags,
      operationId: 'purgeMessages',
      summary: 'Delete every message of a mailbox',
      description: `${IN_USE} ${WHO}`,
      params: mailboxParamsSchema,
      response: { 200: deletedMessagesSchema, ...problems(409) },
      security: WRITE_SECURITY,
    },
    handler: async (req) => purgeMessages(ctx.services.prisma, actorOf(req), req.params.mailboxId),
  });
  app.get('/mailboxes/:mailboxId/messages/:messageId/eml', {
    schema: {
      tags,
      operationId: 'downloadMessage',
      summary: 'Download one message as .eml (the stored octets, streamed)',
      description: WHO,
      params: messageParamsSchema,
      produces: ['message/rfc822'],
      response: { 200: z.string().describe('The message (RFC 5322, CRLF)'), ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req, reply) => {
      const d = await downloadMessage(ctx.services.prisma, actorOf(req), req.params.mailboxId, req.params.messageId);
      return sendFile(reply, 'message/rfc822', d.fileName, d.body, d.sizeOctets);
    },
  });
  app.get('/mailboxes/:mailboxId/mbox', {
    schema: {
      tags,
      operationId: 'exportMbox',
      summary: 'Export a mailbox as mbox (mboxrd, RFC 4155), streamed',
      description: `Lines end in LF; body lines matching \`^>*From \` get one more \`>\`; each message ends with an empty line. ${WHO}`,
      params: mailboxParamsSchema,
      produces: [MBOX_CONTENT_TYPE],
      response: { 200: z.string().describe('The mbox file'), ...problems() },
      security: READ_SECURITY,
    },
    handler: async (req, reply) => {
      const x = await exportMbox(ctx.services.prisma, actorOf(req), req.params.mailboxId);
      reply.header('x-mailroom-messages', x.messages);
      return sendFile(reply, MBOX_CONTENT_TYPE, x.fileName, x.body);
    },
  });
  app.post('/mailboxes/:mailboxId/mbox', {
    schema: {
      tags,
      operationId: 'importMbox',
      summary: 'Import an mbox file (mboxrd or mboxo) into a mailbox',
      description:
        `Send the file as the request body with Content-Type ${MBOX_CONTENT_TYPE}. Messages are stored one by one through the ingress's ` +
        'delivery path, byte for byte (CRLF line endings), with quota enforced: the import stops at the first message that does not fit ' +
        `(422 QUOTA_EXCEEDED; details.imported counts the messages stored before it). 413 MESSAGE_TOO_LARGE for a message over 50 MiB; ` +
        `400 VALIDATION_FAILED (empty_message) at an empty message. ${WHO}`,
      params: mailboxParamsSchema,
      querystring: importMboxQuerySchema,
      consumes: [MBOX_CONTENT_TYPE],
      response: { 200: mboxImportResultSchema, ...problems(413, 415, 422) },
      security: WRITE_SECURITY,
    },
    handler: async (req) => {
      const body = req.body as unknown;
      if (!(body instanceof Readable)) {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Send the mbox file with Content-Type ${MBOX_CONTENT_TYPE}`);
      }
      try {
        return await importMbox(ctx.services.prisma, actorOf(req), req.params.mailboxId, body, { format: req.query.format });
      } finally {
        body.resume();
      }
    },
  });
}
