import { AppError, findMessagesMailbox, readMbox, recordMessagesImport, type Actor, type MessagesMailbox } from '@mailroom/core';
import type { MboxFormat, MboxImportResult } from '@mailroom/core/schemas';
import type { PrismaClient } from '@mailroom/db';
import { DeliveryService, newQueueId, type StoreResult } from '@mailroom/ingress';
import { Pop3Client, type Pop3ClientTls, type Pop3Source } from './pop3-client.ts';

/**
 * Messages entering a mailbox from outside the ingress (mbox import, POP3 fetch) go through the ingress's own storage
 * path (DeliveryService.store: UIDs, quota of mailbox, domain and owner, usage counters in one transaction), stored
 * exactly as given (no trace fields), one message at a time.
 */

/** Largest message taken from an mbox or a POP3 server by default (the ingress's default INGRESS_MAX_MESSAGE_BYTES). */
export const DEFAULT_TRANSFER_MAX_MESSAGE_OCTETS = 52_428_800;

function refusal(result: Extract<StoreResult, { ok: false }>, progress: Record<string, unknown>): AppError {
  const reason = result.reason;
  if (/disabled/.test(reason)) {
    return new AppError(reason.startsWith('domain') ? 'DOMAIN_DISABLED' : 'MAILBOX_DISABLED', `Import stopped: ${reason}`, {
      details: progress,
    });
  }
  if (/quota|limit/.test(reason)) {
    const scope = reason.startsWith('domain') ? 'domain' : reason.startsWith('owner') ? 'owner' : 'mailbox';
    return new AppError('QUOTA_EXCEEDED', `Import stopped: the ${scope}'s storage is full (${reason}); messages before it were stored`, {
      details: { scope, ...progress },
    });
  }
  return new AppError('NOT_FOUND', `Import stopped: ${reason}`, { details: progress });
}

class MessageSink {
  private readonly service: DeliveryService;
  constructor(
    prisma: PrismaClient,
    private readonly mailbox: MessagesMailbox,
    private readonly helo: string,
  ) {
    // one message at a time on the API's pool: no connection is kept between them
    this.service = new DeliveryService(prisma, { hostname: 'localhost', keepConnections: false });
  }

  /**
   * Stores one message; the AppError of a refusal carries `progress` in its details. An empty message is refused: it
   * costs a row but no quota (stored without trace fields, it has no octets), so nothing would bound how many are stored.
   */
  async store(raw: Buffer, envelopeFrom: string, date: Date | undefined, progress: Record<string, unknown>): Promise<void> {
    if (raw.length === 0) {
      throw new AppError('VALIDATION_FAILED', 'Import stopped: an empty message (no header, no body) cannot be stored', {
        details: progress,
        fields: [{ path: 'body', message: 'holds an empty message', code: 'empty_message' }],
      });
    }
    const m = this.mailbox;
    const result = await this.service.store({
      targets: [{ mailboxId: m.id, domainId: m.domainId, address: m.address, ownerLimited: m.ownerLimited }],
      body: raw,
      envelopeFrom,
      rcptTo: m.address,
      queueId: newQueueId(),
      helo: this.helo,
      remoteAddress: '127.0.0.1',
      protocol: 'LMTP',
      trace: false,
      ...(date ? { date } : {}),
    });
    if (!result.ok) throw refusal(result, progress);
  }
}

export interface ImportMboxOptions {
  format: MboxFormat;
  maxMessageOctets?: number;
}

/**
 * Imports an mbox file (streamed: one message in memory at a time) into a mailbox. Stops at the first message the
 * mailbox, domain or owner has no room for (422 QUOTA_EXCEEDED, details.imported says how many went in before it).
 */
export async function importMbox(
  prisma: PrismaClient,
  actor: Actor,
  mailboxId: string,
  source: AsyncIterable<Buffer | string>,
  opts: ImportMboxOptions,
): Promise<MboxImportResult> {
  const mailbox = await findMessagesMailbox(prisma, actor, mailboxId, 'mailboxes:write');
  const sink = new MessageSink(prisma, mailbox, 'mbox-import');
  const result = { imported: 0, bytes: 0 };
  try {
    for await (const msg of readMbox(source, {
      format: opts.format,
      maxMessageOctets: opts.maxMessageOctets ?? DEFAULT_TRANSFER_MAX_MESSAGE_OCTETS,
    })) {
      await sink.store(msg.raw, msg.envelopeFrom, msg.date, { ...result });
      result.imported++;
      result.bytes += msg.raw.length;
    }
  } catch (err) {
    if (err instanceof AppError && !err.details?.imported)
      (err as { details?: Record<string, unknown> }).details = { ...err.details, ...result };
    throw err;
  } finally {
    if (result.imported > 0) await recordMessagesImport(prisma, actor, mailbox, { source: 'mbox', format: opts.format, ...result });
  }
  return result;
}

export interface FetchOptions {
  source: Pop3Source;
  user: string;
  password: string;
  /** Delete from the source server what has been copied (now or by an earlier run). */
  delete?: boolean;
  tls?: Pop3ClientTls;
  maxMessageOctets?: number;
}

export interface FetchResult {
  /** Messages on the source server. */
  total: number;
  copied: number;
  /** Already copied by an earlier run (same mailbox, server and user). */
  skipped: number;
  deleted: number;
  bytes: number;
}

/**
 * Copies every message of a POP3 maildrop into a mailbox. Safe to run again: each copied message's source UIDL is
 * recorded per mailbox and source (`host/user`) right after it is stored, and a re-run skips those UIDLs. A
 * crash between the two copies that one message again on the next run (at least once, never lost). With `delete`,
 * copied messages are marked DELE and removed by the source at QUIT.
 */
export async function fetchFromPop3(prisma: PrismaClient, actor: Actor, mailboxId: string, opts: FetchOptions): Promise<FetchResult> {
  const mailbox = await findMessagesMailbox(prisma, actor, mailboxId, 'mailboxes:write');
  // host and user, not the port: pop3s:// (995) and pop3:// + STLS (110) reach the same maildrop
  const sourceKey = `${opts.source.host.toLowerCase()}/${opts.user}`;
  const client = await Pop3Client.connect(opts.source, opts.tls);
  const result: FetchResult = { total: 0, copied: 0, skipped: 0, deleted: 0, bytes: 0 };
  let clean = false;
  try {
    await client.login(opts.user, opts.password);
    const list = await client.uidl();
    result.total = list.length;
    const done = new Set(
      (await prisma.pop3FetchedMessage.findMany({ where: { mailboxId: mailbox.id, source: sourceKey }, select: { uidl: true } })).map(
        (r) => r.uidl,
      ),
    );
    const sink = new MessageSink(prisma, mailbox, 'pop3-fetch');
    for (const { n, uidl } of list) {
      if (done.has(uidl)) result.skipped++;
      else {
        const raw = await client.retr(n, opts.maxMessageOctets ?? DEFAULT_TRANSFER_MAX_MESSAGE_OCTETS);
        await sink.store(raw, '', undefined, { ...result });
        await prisma.pop3FetchedMessage.createMany({ data: [{ mailboxId: mailbox.id, source: sourceKey, uidl }], skipDuplicates: true });
        result.copied++;
        result.bytes += raw.length;
      }
      if (opts.delete) {
        await client.command(`DELE ${n}`, 'DELE');
        result.deleted++;
      }
    }
    clean = true;
  } finally {
    if (result.copied > 0) await recordMessagesImport(prisma, actor, mailbox, { source: 'pop3', from: sourceKey, ...result });
    // QUIT commits the DELEs of copied messages only; after a failure the session is dropped and the source keeps all.
    if (clean) await client.quit();
    else client.destroy();
  }
  return result;
}
