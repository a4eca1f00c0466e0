import { newId, type PgPool } from '@mailroom/db';
import type { Logger } from '@mailroom/runtime';
import type { SmtpReply } from './replies.ts';

/**
 * The delivery log (table `delivery_log`): one row per recipient outcome at the ingress. Delivered copies are written
 * by the delivery's own statement or transaction (DeliveryService); refusals and deferrals, which store nothing, are
 * written here, group-committed: every entry that arrives while an INSERT runs goes into the next one, so a burst of
 * refused recipients costs a few statements and never a round trip per RCPT before its reply.
 */

/** What the ingress knows about the message and the client when a recipient is answered. */
export interface DeliveryLogContext {
  envelopeFrom: string;
  queueId: string;
  clientAddress: string;
  /** LMTP, SMTP, ESMTP, ESMTPS, ... */
  protocol: string;
  /** The message's octets as received (null before DATA). */
  sizeOctets?: number | null;
  /** The Message-ID header field (null before DATA or when the message has none). */
  messageId?: string | null;
  /** The message's author, the first address of its From field (null before DATA or when it names none). */
  headerFrom?: string | null;
}

/** A refusal or deferral of one recipient. */
export interface RefusalEntry extends DeliveryLogContext {
  recipient: string;
  reply: SmtpReply;
  reason?: string | undefined;
  /** The hosted domain and mailbox the recipient resolved to, when it got that far. */
  domainId?: string | null | undefined;
  mailboxId?: string | null | undefined;
}

export type DeliveryResult = 'delivered' | 'refused' | 'deferred';

/** 5xx refuses (the sender bounces), 4xx defers (the sender retries). */
export function resultOfReply(reply: SmtpReply): DeliveryResult {
  return reply.code >= 500 ? 'refused' : reply.code >= 400 ? 'deferred' : 'delivered';
}

/** Entries waiting for their INSERT at most; beyond it entries are dropped (and counted), so memory stays bounded. */
const MAX_QUEUED_ENTRIES = 50_000;
/** Entries per INSERT at most. */
const MAX_ENTRIES_PER_INSERT = 2_000;
/** Longest stored reason. */
const MAX_REASON_CHARS = 500;
/** Longest stored address. */
const MAX_ADDRESS_CHARS = 512;

function clip(v: string, max: number): string {
  return v.length > max ? v.slice(0, max) : v;
}

export interface DeliveryLogWriterOptions {
  logger?: Logger | undefined;
  /** Called with the number of entries dropped or lost in a failed INSERT (for metrics). */
  onLost?: ((entries: number) => void) | undefined;
}

/** Group-committed writer of refusal and deferral entries; `record` never waits and never throws. */
export class DeliveryLogWriter {
  private queue: RefusalEntry[] = [];
  private running: Promise<void> | null = null;

  constructor(
    private readonly pool: PgPool,
    private readonly options: DeliveryLogWriterOptions = {},
  ) {}

  record(entry: RefusalEntry): void {
    if (this.queue.length >= MAX_QUEUED_ENTRIES) {
      this.options.onLost?.(1);
      return;
    }
    this.queue.push(entry);
    this.pump();
  }

  /** Resolves once every entry recorded so far is written (or given up); for shutdown and tests. */
  async flush(): Promise<void> {
    while (this.running || this.queue.length) {
      this.pump();
      await this.running;
    }
  }

  private pump(): void {
    if (this.running || !this.queue.length) return;
    const batch = this.queue.splice(0, MAX_ENTRIES_PER_INSERT);
    this.running = this.insert(batch).finally(() => {
      this.running = null;
      this.pump();
    });
  }

  private async insert(batch: RefusalEntry[]): Promise<void> {
    const cols: unknown[][] = Array.from({ length: 15 }, () => []);
    for (const e of batch) {
      const row = [
        newId(),
        e.domainId ?? null,
        e.mailboxId ?? null,
        resultOfReply(e.reply),
        e.reply.code,
        e.reply.status,
        e.reason ? clip(e.reason, MAX_REASON_CHARS) : null,
        clip(e.envelopeFrom, MAX_ADDRESS_CHARS),
        clip(e.recipient, MAX_ADDRESS_CHARS),
        e.sizeOctets ?? null,
        e.messageId ?? null,
        e.clientAddress,
        e.protocol,
        e.queueId,
        e.headerFrom ?? null,
      ];
      row.forEach((v, i) => cols[i]!.push(v));
    }
    try {
      // domain and mailbox ids are checked in the statement: one deleted meanwhile leaves its column null, not an error
      await this.pool.query(
        `INSERT INTO delivery_log (id, domain_id, mailbox_id, result, reply_code, enhanced_code, reason, envelope_from, recipient,
                                   size_octets, message_id, client_address, protocol, queue_id, header_from)
         SELECT t.id, (SELECT d.id FROM domains d WHERE d.id = t.domain_id), (SELECT m.id FROM mailboxes m WHERE m.id = t.mailbox_id),
                t.result, t.reply_code, t.enhanced_code, t.reason, t.envelope_from, t.recipient, t.size_octets, t.message_id,
                t.client_address, t.protocol, t.queue_id, t.header_from
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[],
                       $10::int[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[])
                AS t(id, domain_id, mailbox_id, result, reply_code, enhanced_code, reason, envelope_from, recipient, size_octets,
                     message_id, client_address, protocol, queue_id, header_from)`,
        cols,
      );
    } catch (err) {
      this.options.onLost?.(batch.length);
      this.options.logger?.warn({ err, entries: batch.length }, 'delivery log: refusal entries could not be written');
    }
  }
}
