import libmime from 'libmime';
import { messageWindowSql, pgPoolOf, Prisma, storedMessageCopySql, streamCopyRows, type PrismaClient } from '@mailroom/db';
import { AppError } from '../errors.ts';
import { MboxrdEncoder, mboxFromLine } from '../mbox.ts';
import { fieldAddresses } from '../sender-rules.ts';
import type { DeletedMessages, ListMessagesQuery, MessageSummary } from '../schemas/messages.ts';
import { recordAudit } from './audit.ts';
import { decodeCursor, toPage, type Page } from './pagination.ts';
import { type Actor, requireUser, visibleDomainWhere } from './principal.ts';
import { countedBytes, releaseMailboxUsage } from './quota.ts';
import { notFound, type Db } from './shared.ts';

/**
 * The messages waiting in a mailbox, for the panel, the API and the CLI: listing from the header part only, deletion
 * under POP3's single-session rule, `.eml` download and mbox export streamed from PostgreSQL with constant memory.
 */

/** Octets of a message read to list it: the header part (anything longer is cut off, a body is never read). */
export const MESSAGE_HEADER_PREVIEW_OCTETS = 64 * 1024;
/** The message's first octets, wherever they are stored (`raw`, then message_parts for a large message). */
const HEAD_WINDOW = Prisma.raw(messageWindowSql('m', '0', MESSAGE_HEADER_PREVIEW_OCTETS));
/** Rows of a message streamed from PostgreSQL, and octets queued before the connection is paused. */
const STREAM_CHUNK_OCTETS = 64 * 1024;
const STREAM_HIGH_WATER_OCTETS = 256 * 1024;
/** Messages whose metadata one mbox export query reads at a time. */
const EXPORT_BATCH = 200;
/** A decoded header value shown in a listing is cut to this many characters. */
const MAX_HEADER_CHARS = 998;

/** Which stored messages to remove (see removeStoredMessages). */
export type StoredMessageSelection = { ids: readonly string[] } | { olderThanDays: number } | { all: true };

/**
 * Deletes a mailbox's messages and lowers the mailbox's usage (bytes, count) and its domain's usage (an owner's usage
 * is the sum over its domains) in the caller's transaction: the one home of the deletion arithmetic, used by POP3's
 * UPDATE state, retention and the panel/API deletion.
 */
export async function removeStoredMessages(
  tx: Prisma.TransactionClient,
  mailboxId: string,
  which: StoredMessageSelection,
): Promise<DeletedMessages> {
  if ('ids' in which && which.ids.length === 0) return { deleted: 0, bytes: 0 };
  type Row = { size_octets: number; counts_toward_quota: boolean };
  const rows =
    'ids' in which
      ? await tx.$queryRaw<Row[]>`
          DELETE FROM messages WHERE mailbox_id = ${mailboxId}::uuid AND id = ANY(${[...which.ids]}::uuid[])
          RETURNING size_octets, counts_toward_quota`
      : 'olderThanDays' in which
        ? await tx.$queryRaw<Row[]>`
            DELETE FROM messages WHERE mailbox_id = ${mailboxId}::uuid
              AND received_at < now() - ${which.olderThanDays}::int * interval '1 day' RETURNING size_octets, counts_toward_quota`
        : await tx.$queryRaw<Row[]>`DELETE FROM messages WHERE mailbox_id = ${mailboxId}::uuid RETURNING size_octets, counts_toward_quota`;
  // quota warnings are stored without counting toward usage (counts_toward_quota = false): only the rest is given back
  const { bytes, counted } = countedBytes(rows);
  await releaseMailboxUsage(tx, mailboxId, counted, rows.length);
  return { deleted: rows.length, bytes };
}

/** The mailbox whose messages are handled, as its caller may see it. */
export interface MessagesMailbox {
  id: string;
  domainId: string;
  ownerId: string;
  address: string;
  enabled: boolean;
  /** The owner has a storage limit (deliveries take the owner's row lock first). */
  ownerLimited: boolean;
}

/**
 * The mailbox `mailboxId` if the actor may handle its messages: its domain's owner, an admin (keys with the
 * mailboxes scope, narrowed by their domains), or the mailbox user itself. Anyone else gets 404.
 */
export async function findMessagesMailbox(
  prisma: Db,
  actor: Actor,
  mailboxId: string,
  scope: 'mailboxes:read' | 'mailboxes:write',
): Promise<MessagesMailbox> {
  const p = actor.principal;
  let where: Prisma.MailboxWhereInput;
  if (p.kind === 'mailbox') {
    if (p.mailboxId !== mailboxId) throw notFound('Mailbox');
    where = { id: mailboxId };
  } else where = { id: mailboxId, domain: visibleDomainWhere(requireUser(actor, scope)) };
  const row = await prisma.mailbox.findFirst({
    where,
    select: {
      id: true,
      domainId: true,
      localPart: true,
      enabled: true,
      domain: { select: { name: true, ownerId: true, owner: { select: { maxStorageBytes: true } } } },
    },
  });
  if (!row) throw notFound('Mailbox');
  return {
    id: row.id,
    domainId: row.domainId,
    ownerId: row.domain.ownerId,
    address: `${row.localPart}@${row.domain.name}`,
    enabled: row.enabled,
    ownerLimited: row.domain.owner.maxStorageBytes !== null,
  };
}

/** Header octets as text: UTF-8 when valid (RFC 6532), else Latin-1 so no octet is lost. */
function headerText(head: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(head);
  } catch {
    return head.toString('latin1');
  }
}

function decodedHeader(headers: Record<string, unknown>, name: string): string | null {
  const values = headers[name];
  const v = Array.isArray(values) ? values[0] : undefined;
  if (typeof v !== 'string') return null;
  let text: string;
  try {
    text = libmime.decodeWords(v);
  } catch {
    text = v;
  }
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .trim()
      .slice(0, MAX_HEADER_CHARS)
  );
}

/** The first address of a From field as a mail client reads it (see fieldAddresses), or null. */
function firstAddress(headers: Record<string, unknown>): string | null {
  const raw = headers.from;
  const value = Array.isArray(raw) ? raw[0] : raw;
  return typeof value === 'string' ? (fieldAddresses(value)[0] ?? null) : null;
}

/**
 * From, its first address, Subject and Date of a message's header part (`head`: its first octets, maybe cut), RFC 2047
 * words decoded.
 */
export function summarizeHeader(head: Buffer): {
  from: string | null;
  fromAddress: string | null;
  subject: string | null;
  date: string | null;
} {
  let end = head.indexOf('\r\n\r\n');
  if (end === -1) end = head.indexOf('\n\n');
  const text = headerText(end === -1 ? head : head.subarray(0, end));
  const headers = libmime.decodeHeaders(text, { skipPrototypeKeys: true }) as Record<string, unknown>;
  const dateText = decodedHeader(headers, 'date');
  const parsed = dateText ? new Date(dateText.replace(/\s*\([^)]*\)\s*$/, '')) : undefined;
  return {
    from: decodedHeader(headers, 'from'),
    fromAddress: firstAddress(headers),
    subject: decodedHeader(headers, 'subject'),
    date:
      parsed && !Number.isNaN(parsed.getTime()) && parsed.getUTCFullYear() > 1900 && parsed.getUTCFullYear() < 10000
        ? parsed.toISOString()
        : null,
  };
}

/** A page of the mailbox's messages in UID (POP3) order, read from each message's header part only. */
export async function listMessages(
  prisma: PrismaClient,
  actor: Actor,
  mailboxId: string,
  query: ListMessagesQuery,
): Promise<Page<MessageSummary>> {
  const mailbox = await findMessagesMailbox(prisma, actor, mailboxId, 'mailboxes:read');
  const after = decodeCursor(query.cursor, ['uid'] as const);
  const afterUid = after ? Number(after.uid) : 0;
  if (!Number.isSafeInteger(afterUid) || afterUid < 0) {
    throw new AppError('VALIDATION_FAILED', 'Invalid cursor', {
      fields: [{ path: 'query.cursor', message: 'is not a cursor from this list', code: 'invalid_cursor' }],
    });
  }
  const rows = await prisma.$queryRaw<
    { id: string; uid: number; uidl: string; size_octets: number; received_at: Date; envelope_from: string | null; head: Buffer }[]
  >`
    SELECT id::text, uid, uidl, size_octets, received_at, envelope_from,
           substring(${HEAD_WINDOW} from 1 for ${MESSAGE_HEADER_PREVIEW_OCTETS}::int) AS head
      FROM messages m WHERE mailbox_id = ${mailbox.id}::uuid AND uid > ${afterUid}::int
     ORDER BY uid LIMIT ${query.limit + 1}::int`;
  return toPage(
    rows,
    query.limit,
    (r) => ({ uid: String(r.uid) }),
    (r) => ({
      id: r.id,
      uid: Number(r.uid),
      uidl: r.uidl,
      ...summarizeHeader(Buffer.from(r.head)),
      envelopeFrom: r.envelope_from,
      sizeOctets: Number(r.size_octets),
      receivedAt: r.received_at.toISOString(),
    }),
  );
}

/**
 * Locks the mailbox for a deletion by the panel/API and refuses (409 MAILBOX_IN_USE) while a POP3 session holds its
 * maildrop lease. Locks are taken in POP3's order (lease row, then mailbox row) so a QUIT running at the same time
 * cannot deadlock with it. The lease row lock holds off a login taking over an expired lease, the mailbox row lock one
 * inserting a first lease (its foreign key check waits), until this transaction ends; the lease is read again after
 * both, so no POP3 session can have snapshotted messages this deletion removes.
 */
async function lockMaildropForDeletion(tx: Prisma.TransactionClient, mailboxId: string): Promise<void> {
  await tx.$queryRaw`SELECT 1 FROM maildrop_leases WHERE mailbox_id = ${mailboxId}::uuid FOR UPDATE`;
  const mailbox = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM mailboxes WHERE id = ${mailboxId}::uuid FOR UPDATE`;
  if (!mailbox.length) throw notFound('Mailbox');
  const lease = await tx.$queryRaw<
    { held: boolean }[]
  >`SELECT expires_at > now() AS held FROM maildrop_leases WHERE mailbox_id = ${mailboxId}::uuid`;
  if (lease[0]?.held) {
    throw new AppError(
      'MAILBOX_IN_USE',
      'A POP3 session is open on this mailbox; messages can be deleted once it ends (the mail client disconnects)',
      {
        details: { mailboxId },
      },
    );
  }
}

async function deleteWhere(
  prisma: PrismaClient,
  actor: Actor,
  mailboxId: string,
  which: { ids: string[] } | { all: true },
): Promise<DeletedMessages> {
  const mailbox = await findMessagesMailbox(prisma, actor, mailboxId, 'mailboxes:write');
  return prisma.$transaction(
    async (tx) => {
      await lockMaildropForDeletion(tx, mailbox.id);
      const result = await removeStoredMessages(tx, mailbox.id, which);
      await recordAudit(tx, actor, {
        action: 'all' in which ? 'mailbox.messages.purge' : 'mailbox.messages.delete',
        targetType: 'mailbox',
        targetId: mailbox.id,
        ownerId: mailbox.ownerId,
        details: { address: mailbox.address, domainId: mailbox.domainId, messagesDeleted: result.deleted, bytesFreed: result.bytes },
      });
      return result;
    },
    { maxWait: 10_000, timeout: 120_000 },
  );
}

/** Deletes the listed messages (ids of other mailboxes are ignored); refused while a POP3 session holds the mailbox. */
export function deleteMessages(prisma: PrismaClient, actor: Actor, mailboxId: string, ids: string[]): Promise<DeletedMessages> {
  return deleteWhere(prisma, actor, mailboxId, { ids: [...new Set(ids)] });
}

/** Deletes every message of the mailbox; refused while a POP3 session holds the mailbox. */
export function purgeMessages(prisma: PrismaClient, actor: Actor, mailboxId: string): Promise<DeletedMessages> {
  return deleteWhere(prisma, actor, mailboxId, { all: true });
}

function poolOf(prisma: PrismaClient) {
  const pool = pgPoolOf(prisma);
  if (!pool) throw new Error('message streaming needs a client from createPrismaClient');
  return pool;
}

/** A stored message's octets from PostgreSQL in chunks, with backpressure; nothing when it is gone. */
function streamStoredMessage(prisma: PrismaClient, mailboxId: string, messageId: string): AsyncGenerator<Buffer> {
  const sql = storedMessageCopySql(mailboxId, messageId, STREAM_CHUNK_OCTETS);
  if (!sql) throw notFound('Message');
  return streamCopyRows(poolOf(prisma), sql, { highWaterOctets: STREAM_HIGH_WATER_OCTETS });
}

/** A name safe in Content-Disposition and on every file system: ASCII letters, digits, `.`, `-`, `_`. */
export function safeFileName(base: string, extension: string): string {
  const cleaned = base
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 100);
  return `${cleaned || 'message'}.${extension}`;
}

export interface MessageDownload {
  fileName: string;
  sizeOctets: number;
  body: AsyncIterable<Buffer>;
}

/** One message as an `.eml` download (the stored octets, streamed). */
export async function downloadMessage(prisma: PrismaClient, actor: Actor, mailboxId: string, messageId: string): Promise<MessageDownload> {
  const mailbox = await findMessagesMailbox(prisma, actor, mailboxId, 'mailboxes:read');
  const row = await prisma.message.findFirst({ where: { id: messageId, mailboxId: mailbox.id }, select: { uid: true, sizeOctets: true } });
  if (!row) throw notFound('Message');
  return {
    fileName: safeFileName(`${mailbox.address}-${row.uid}`, 'eml'),
    sizeOctets: row.sizeOctets,
    body: streamStoredMessage(prisma, mailbox.id, messageId),
  };
}

export interface MboxExport {
  fileName: string;
  messages: number;
  body: AsyncIterable<Buffer>;
}

/**
 * The mailbox as an mboxrd file, streamed: message metadata in batches of EXPORT_BATCH by UID, each message's octets
 * through one COPY with backpressure, so memory stays constant whatever the mailbox holds. Messages deleted while
 * the export runs are left out.
 */
export async function exportMbox(prisma: PrismaClient, actor: Actor, mailboxId: string): Promise<MboxExport> {
  const mailbox = await findMessagesMailbox(prisma, actor, mailboxId, 'mailboxes:read');
  const messages = await prisma.message.count({ where: { mailboxId: mailbox.id } });
  async function* body(): AsyncGenerator<Buffer> {
    let afterUid = 0;
    for (;;) {
      const batch = await prisma.message.findMany({
        where: { mailboxId: mailbox.id, uid: { gt: afterUid } },
        orderBy: { uid: 'asc' },
        take: EXPORT_BATCH,
        select: { id: true, uid: true, envelopeFrom: true, receivedAt: true },
      });
      for (const m of batch) {
        const encoder = new MboxrdEncoder();
        let head: Buffer | undefined = mboxFromLine(m.envelopeFrom, m.receivedAt);
        for await (const chunk of streamStoredMessage(prisma, mailbox.id, m.id)) {
          const out = encoder.push(chunk);
          if (head) {
            yield Buffer.concat([head, out]);
            head = undefined;
          } else if (out.length) yield out;
        }
        if (!head) yield encoder.end();
      }
      if (batch.length < EXPORT_BATCH) return;
      afterUid = batch[batch.length - 1]!.uid;
    }
  }
  return { fileName: safeFileName(mailbox.address, 'mbox'), messages, body: body() };
}

/** Audit of a finished import (the messages themselves went through the ingress's delivery path). */
export async function recordMessagesImport(
  prisma: PrismaClient,
  actor: Actor,
  mailbox: MessagesMailbox,
  details: Record<string, unknown>,
): Promise<void> {
  await recordAudit(prisma, actor, {
    action: 'mailbox.messages.import',
    targetType: 'mailbox',
    targetId: mailbox.id,
    ownerId: mailbox.ownerId,
    details: { address: mailbox.address, domainId: mailbox.domainId, ...details },
  });
}
