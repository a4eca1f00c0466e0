import { Readable } from 'node:stream';
import { AppError, bulkMailboxAction, exportMailboxesCsv, importMailboxes, MAILBOX_CSV_COLUMNS } from '@mailroom/core';
import {
  bulkMailboxBodySchema,
  bulkMailboxResultSchema,
  domainParamsSchema,
  mailboxImportQuerySchema,
  mailboxImportReportSchema,
} from '@mailroom/core/schemas';
import { z } from 'zod';
import { actorOf } from '../plugins/auth.ts';
import { problems, READ_SECURITY, WRITE_SECURITY, type RouteContext, type ZodApp } from './common.ts';

const tags = ['mailboxes'];
const CSV_TYPES = ['text/csv', 'application/csv'];

/**
 * The raw request stream behind an object with nothing enumerable: hooks that walk the parsed body (the NUL check in
 * infrastructure.ts) must not descend into the socket graph of an IncomingMessage.
 */
class CsvBody implements AsyncIterable<Buffer> {
  readonly #stream: AsyncIterable<Buffer>;
  constructor(stream: AsyncIterable<Buffer>) {
    this.#stream = stream;
  }
  [Symbol.asyncIterator]() {
    return this.#stream[Symbol.asyncIterator]();
  }
}

/** The request body as it arrives, refused with PAYLOAD_TOO_LARGE as soon as it passes `limit` bytes. */
async function* limitedBody(body: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.length;
    if (seen > limit)
      throw new AppError('PAYLOAD_TOO_LARGE', `The CSV is larger than ${limit} bytes (API_IMPORT_MAX_BYTES); split it`, {
        details: { limitBytes: limit },
      });
    yield chunk;
  }
}

const columnsDoc = Object.entries(MAILBOX_CSV_COLUMNS)
  .map(([c, aliases]) => `\`${c}\` (${aliases.join(', ')})`)
  .join('; ');

export async function mailboxBulkRoutes(app: ZodApp, ctx: RouteContext): Promise<void> {
  const { importMaxBytes, importMaxRows } = ctx.config;
  // The CSV body is handed over as a stream and parsed record by record (no whole-body buffering).
  app.addContentTypeParser(CSV_TYPES, (_req, payload, done) => done(null, new CsvBody(payload)));

  app.post('/domains/:domainId/mailboxes/import', {
    bodyLimit: importMaxBytes,
    schema: {
      tags,
      operationId: 'importMailboxes',
      summary: 'Import mailboxes from CSV (dry run, all-or-nothing, or skip invalid rows)',
      description:
        `Body: \`text/csv\`, UTF-8 with or without BOM, CRLF or LF, RFC 4180 quoting; a header row naming the columns (case, spaces, ` +
        `\`_\` and \`-\` ignored): ${columnsDoc}. Only the address column is required: a local part or a full address in this domain ` +
        '(IDN spellings accepted). An empty password is generated; quota is bytes or a size with a binary unit (`2 GB` = `2GiB` = `2G` = ' +
        "2·2³⁰, `500MiB`, `unlimited`; empty = the domain default); enabled is true/false, yes/no, 1/0 (empty = true). The export's state columns " +
        '(usedBytes, messageCount, lastLoginAt, createdAt) are ignored, so an export imports again.\n\n' +
        '`dryRun=true` validates every row and answers the report (200) without writing. A real run is all-or-nothing: any invalid row ' +
        'answers 422 IMPORT_INVALID with `details.errors` ({row, field, code, message}) and writes nothing; with `skipInvalid=true` ' +
        'the valid rows are created (201) and the invalid ones reported. Row codes: column_count, nul_character, required, invalid_address, ' +
        'wrong_domain, invalid_local_part, duplicate_in_file, taken, alias_taken, too_short, too_long, too_common, contains_account, ' +
        'too_simple, invalid_display_name, invalid_size, invalid_boolean, quota_required, limit_mailboxes, limit_storage. ' +
        `Passwords of rows with an empty password are in \`generatedPasswords\`, in this response only. Limits: ${importMaxRows} rows ` +
        `(API_IMPORT_MAX_ROWS; 413 TOO_MANY_ROWS), ${importMaxBytes} bytes (API_IMPORT_MAX_BYTES; 413 PAYLOAD_TOO_LARGE). ` +
        'A malformed CSV (unclosed quote …) or a bad header is 400 VALIDATION_FAILED. Audited: mailbox.create per mailbox, mailbox.import once.',
      params: domainParamsSchema,
      querystring: mailboxImportQuerySchema,
      body: z.any().describe('text/csv'),
      response: { 200: mailboxImportReportSchema, 201: mailboxImportReportSchema, ...problems(413, 415, 422, 429) },
      security: WRITE_SECURITY,
    },
    handler: async (req, reply) => {
      if (!CSV_TYPES.includes((req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase())) {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the CSV with Content-Type: text/csv');
      }
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > importMaxBytes)
        throw new AppError('PAYLOAD_TOO_LARGE', `The CSV is larger than ${importMaxBytes} bytes (API_IMPORT_MAX_BYTES); split it`, {
          details: { limitBytes: importMaxBytes },
        });
      if (!(req.body instanceof CsvBody)) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the CSV with Content-Type: text/csv');
      const body = limitedBody(req.body, importMaxBytes);
      const report = await importMailboxes(ctx.services, actorOf(req), req.params.domainId, body, {
        dryRun: req.query.dryRun,
        skipInvalid: req.query.skipInvalid,
        maxRows: importMaxRows,
      });
      return reply.code(report.dryRun ? 200 : 201).send(report);
    },
  });

  app.get('/domains/:domainId/mailboxes/export', {
    schema: {
      tags,
      operationId: 'exportMailboxes',
      summary: "Export a domain's mailboxes as CSV (streamed, no secrets)",
      description:
        'Columns: address, displayName, quota (bytes or `unlimited`), usedBytes, messageCount, enabled, lastLoginAt, createdAt; CRLF, ' +
        'RFC 4180 quoting; cells starting with = + - @ (a spreadsheet formula) are prefixed with an apostrophe. The file imports again.',
      params: domainParamsSchema,
      querystring: z.object({}).strict().describe('No options: the whole domain, in address order'),
      response: { 200: z.string().describe('text/csv'), ...problems() },
      produces: ['text/csv'],
      security: READ_SECURITY,
    },
    handler: async (req, reply) => {
      const { domain, lines } = await exportMailboxesCsv(ctx.services.prisma, actorOf(req), req.params.domainId);
      const filename = `mailboxes-${domain}.csv`.replace(/[^A-Za-z0-9._-]/g, '_');
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${filename}"`)
        .header('cache-control', 'no-store')
        .send(Readable.from(lines) as unknown as string); // a stream: fastify pipes it, no serializer
    },
  });

  app.post('/domains/:domainId/mailboxes/bulk', {
    schema: {
      tags,
      operationId: 'bulkMailboxes',
      summary: 'One action on many mailboxes: enable, disable, setQuota, resetPassword, delete',
      description:
        'The selection is `{ids: [...]}` (every id must be a mailbox of this domain, else 404 NOT_FOUND and nothing changes) or ' +
        "`{filter: {q?, enabled?}}` (the list's search; more than 10,000 matches is 413 TOO_MANY_ROWS). One transaction: setQuota " +
        "over the owner's or domain's storage limit is 422 LIMIT_STORAGE_EXCEEDED (QUOTA_REQUIRED for null under a limit) and " +
        'changes nothing. resetPassword answers the generated passwords once (`generatedPasswords`) and signs the users out; disable ' +
        'signs them out. Audited per mailbox as the single action (mailbox.enable/disable/update/password.set/delete) and once as mailbox.bulk.',
      params: domainParamsSchema,
      body: bulkMailboxBodySchema,
      response: { 200: bulkMailboxResultSchema, ...problems(413, 422, 429) },
      security: WRITE_SECURITY,
    },
    handler: async (req) => bulkMailboxAction(ctx.services, actorOf(req), req.params.domainId, req.body),
  });
}
