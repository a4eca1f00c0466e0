/**
 * The statements that store messages: a whole group commit in one statement (applyBatch), one request copy by copy
 * inside a transaction (applyStore, the path that also finds the exact reason of a refusal), the delivery log entries
 * of stored copies and the quota warnings a delivery makes due.
 */
import {
  domainFitsSql,
  domainUsageAddSql,
  isDivisionByZero,
  mailboxFitsSql,
  mailboxUsageAddSql,
  ownerUsedSql,
  quotaLevelSql,
  quotaWarningDueSql,
  quotaWarningLockSql,
  recordMailboxEventSql,
} from '@mailroom/core';
import {
  ByteaParts,
  copyMessageParts,
  messagePartsCopy,
  newId,
  queryWithBuffers,
  storedInParts,
  type MessagePartsInput,
  type PgPool,
  type PgPoolClient,
} from '@mailroom/db';
import type { PendingStore, StoreContext, StoredCopy, StoreResult, QuotaWarning } from './delivery-types.ts';
import { toQuotaWarning, type WarnRow } from './quota.ts';
import { hasDotLines } from './message.ts';
import { buildQuotaWarningMessage } from './quota-warning.ts';
import { REPLIES, quotaReply, type SmtpReply } from './replies.ts';

/** Where storage statements run: the pool (one statement, its own transaction) or a client inside BEGIN … COMMIT. */
export type Sql = PgPool | PgPoolClient;

/** Batches of small bodies up to this size are named statements (one per size and delivery-log mode per connection). */
const NAMED_SMALL_BATCHES = 16;

/** The message parts of a batch's copies whose bodies are stored in parts (see applyBatch), in batch order. */
export function batchParts(batch: readonly PendingStore[]): MessagePartsInput[] {
  return batch.flatMap((item) =>
    storedInParts(item.copies[0]!.body)
      ? item.copies.map((c) => ({ messageId: c.messageId, headOctets: c.trace.length, body: c.body }))
      : [],
  );
}

/** A batch in which some mailbox or domain refused its share (see applyBatch). */
class BatchRefused extends Error {}

/**
 * Something failed after a batch's statement had committed it (applyBatch with `commit`): its messages are stored, so
 * the batch must not be stored again one by one; its requests are answered with a temporary failure instead.
 */
export class CommittedBatchError extends Error {
  constructor(cause: unknown) {
    super('the batch was committed, but its result could not be read', { cause });
  }
}

export function isBatchRefused(err: unknown): boolean {
  return err instanceof BatchRefused || isDivisionByZero(err);
}

/**
 * Stores a whole batch with ONE statement (its own transaction): per mailbox, one locking UPDATE takes as many UIDs
 * as it gets messages and adds their sizes under the quota; per domain, one UPDATE adds the usage under the storage
 * limit; each limited owner's total (the sum over its domains) must stay under the owner's limit, and its row must be
 * in `lockedOwners` (see lockOwners); then every message is inserted, with its delivery log entry. If any mailbox,
 * domain or owner refuses its share, the statement fails on purpose (division by zero in its last column, SQLSTATE
 * 22012), which rolls all of it back.
 *
 * Quota warnings are decided in the same statement (see QUOTA_WARNING_DUE). A batch never delivers them (it is its
 * own transaction, or it carries its COMMIT), so a due warning aborts it like a refusal; the requests are then stored
 * one by one (applyStore), each in a transaction that delivers the warning.
 */
export async function applyBatch(
  ctx: StoreContext,
  tx: Sql,
  batch: PendingStore[],
  lockedOwners: string[],
  options: {
    /** The statement carries the transaction's COMMIT (see queryWithBuffers' thenCommit). */
    commit?: boolean;
    /** The transaction's opening statements and the parts' COPY go first, in the statement's round trip. */
    open?: { statements: string[]; parts: MessagePartsInput[] };
  } = {},
): Promise<StoreResult[]> {
  if (options.commit && !('release' in tx)) throw new Error('applyBatch: commit needs a transaction');
  const ids: string[] = [];
  const mailboxIds: string[] = [];
  const sizes: number[] = [];
  const traces: string[] = [];
  const bodyIdx: number[] = [];
  /** Each request's body once (its copies share it), sent as its own binary parameter. */
  const bodies: Buffer[] = [];
  /** Per body (in `bodies` order): whether it goes to message_parts (then `raw` holds the trace fields only). */
  const parted: boolean[] = [];
  let parts = 0;
  const froms: string[] = [];
  const dates: string[] = [];
  const log = ctx.deliveryLog;
  const logCols: unknown[][] = log ? [[], [], [], [], [], [], []] : [];
  for (const item of batch) {
    const body = bodies.push(item.copies[0]!.body);
    parted.push(storedInParts(item.copies[0]!.body));
    for (const c of item.copies) {
      if (parted[body - 1]) parts++;
      ids.push(c.messageId);
      mailboxIds.push(c.target.mailboxId);
      sizes.push(c.size);
      traces.push(c.trace.toString('base64'));
      bodyIdx.push(body);
      froms.push(item.envelopeFrom);
      dates.push(item.date.toISOString());
      if (log) {
        const l = item.log;
        [c.rcptTo, l.sizeOctets, l.messageId, l.clientAddress, l.protocol, l.queueId, l.headerFrom].forEach((v, i) => logCols[i]!.push(v));
      }
    }
  }
  if (parts && !('release' in tx)) throw new Error('applyBatch: bodies in parts need a transaction');
  /** The bodies' dot-line flags (one boolean[]), then the bodies sent with the statement (those in parts are not). */
  const dotParam = 11 + logCols.length;
  const bodyParam: (number | undefined)[] = [];
  let nextParam = dotParam + 1;
  for (const isParted of parted) bodyParam.push(isParted ? undefined : nextParam++);
  // Every body in parts (the usual batch of large messages): no body parameter, and the statement's text depends only
  // on whether the delivery log is on, so it is prepared once per connection (a named statement) instead of being
  // parsed and planned for every batch, which was a sixth of PostgreSQL's CPU per 1 MB batch (issue 17's profile).
  const allParted = parted.every(Boolean);
  const bodySql = allParted
    ? `(SELECT o::int, ''::bytea, d FROM unnest($${dotParam}::boolean[]) WITH ORDINALITY AS u(d, o))`
    : `(VALUES ${bodies.map((_, k) => `(${k + 1}, ${bodyParam[k] ? `$${bodyParam[k]}` : "''"}::bytea, ($${dotParam}::boolean[])[${k + 1}])`).join(', ')})`;
  const text = `
    WITH input AS (
      -- per copy: its trace fields (small, base64) and which body it shares; the bodies are binary parameters
      SELECT t.*
        FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::text[], $6::timestamptz[], $10::int[]
                    ${log ? ', $11::text[], $12::int[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[]' : ''})
             WITH ORDINALITY AS t(id, mailbox_id, size, trace64, envelope_from, received_at, body_idx
                                  ${log ? ', rcpt, msg_size, message_id, client, proto, queue_id, header_from' : ''}, ord)
    ), per_mailbox AS (
      SELECT mailbox_id, count(*)::int AS n, sum(size)::bigint AS bytes FROM input GROUP BY mailbox_id
    ), ${quotaWarningLockSql('(SELECT mailbox_id FROM per_mailbox)', '$9::int[]')}, mb AS (
      UPDATE mailboxes m
         SET next_uid = m.next_uid + p.n, ${mailboxUsageAddSql('p.bytes', 'p.n')}, updated_at = now(),
             quota_warned_percent = ${quotaLevelSql('m.used_bytes + p.bytes')}
        FROM per_mailbox p JOIN warn_lock wl ON wl.id = p.mailbox_id
       WHERE m.id = p.mailbox_id AND m.enabled AND ${mailboxFitsSql('p.bytes')}
   RETURNING m.id, m.domain_id, m.next_uid - p.n AS first_uid, p.bytes, m.used_bytes, m.quota_bytes,
             ${quotaWarningDueSql('p.bytes')} AS warn_percent
    ), per_domain AS (
      SELECT m.domain_id, sum(p.bytes)::bigint AS bytes
        FROM per_mailbox p JOIN mailboxes m ON m.id = p.mailbox_id GROUP BY m.domain_id
    ), dom AS (
      UPDATE domains d
         SET ${domainUsageAddSql('pd.bytes')}, updated_at = now()
        FROM per_domain pd, users u
       WHERE d.id = pd.domain_id AND u.id = d.owner_id AND d.active AND d.verified_at IS NOT NULL AND NOT u.disabled
         AND ${domainFitsSql('pd.bytes')}
   RETURNING d.id
    ), per_owner AS (
      SELECT d.owner_id, sum(pd.bytes)::bigint AS bytes FROM per_domain pd JOIN domains d ON d.id = pd.domain_id GROUP BY d.owner_id
    ), owner_refused AS (
      -- a limited owner whose row this transaction has not locked, or whose domains would go over its limit
      SELECT po.owner_id FROM per_owner po JOIN users u ON u.id = po.owner_id
       WHERE u.max_storage_bytes IS NOT NULL
         AND (NOT u.id = ANY($7::uuid[])
              OR ${ownerUsedSql()} + po.bytes > u.max_storage_bytes)
    ), ins AS (
      INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw, envelope_from, received_at, dot_lines)
      SELECT i.id, i.mailbox_id, u.uid, u.uid::text || '.' || replace(i.id::text, '-', ''), i.size,
             decode(i.trace64, 'base64') || b.body, i.envelope_from, i.received_at, b.dot_lines
        FROM input i
        -- joined only here, so no body is ever materialised with the CTE (dot_lines: one per body)
        JOIN ${bodySql} AS b(idx, body, dot_lines) ON b.idx = i.body_idx
        JOIN (SELECT i2.id, (mb.first_uid + row_number() OVER (PARTITION BY i2.mailbox_id ORDER BY i2.ord) - 1)::int AS uid
                FROM input i2 JOIN mb ON mb.id = i2.mailbox_id) u ON u.id = i.id
       WHERE (SELECT count(*) FROM mb) = (SELECT count(*) FROM per_mailbox)
         AND (SELECT count(*) FROM dom) = (SELECT count(*) FROM per_domain)
         AND NOT EXISTS (SELECT 1 FROM owner_refused)
         -- a quota warning due aborts the batch: the requests are then stored one by one, each with its warning
         AND NOT EXISTS (SELECT 1 FROM mb WHERE mb.warn_percent IS NOT NULL)
   RETURNING id, mailbox_id, uid
    )${
      log
        ? `, logged AS (
      -- the delivery log entry of each stored copy, in the statement that stores it (its id is the message's)
      INSERT INTO delivery_log (id, domain_id, mailbox_id, result, reply_code, enhanced_code, envelope_from, header_from,
                                recipient, size_octets, message_id, uid, client_address, protocol, queue_id)
      SELECT ins.id, mb.domain_id, ins.mailbox_id, 'delivered', 250, '2.0.0', i.envelope_from, i.header_from, i.rcpt,
             i.msg_size, i.message_id, ins.uid, i.client, i.proto, i.queue_id
        FROM ins JOIN input i ON i.id = ins.id JOIN mb ON mb.id = ins.mailbox_id
    )`
        : ''
    }
    SELECT (SELECT json_agg(json_build_object('id', id, 'uid', uid)) FROM ins) AS stored,
           -- the deliberate abort: 1/0 unless every mailbox, domain and owner took its share and every message went in
           1 / (CASE WHEN (SELECT count(*) FROM mb) = (SELECT count(*) FROM per_mailbox)
                      AND (SELECT count(*) FROM dom) = (SELECT count(*) FROM per_domain)
                      AND (SELECT count(*) FROM ins) = $8::int
                     THEN 1 ELSE 0 END) AS ok`;
  const values = [ids, mailboxIds, sizes, traces, froms, dates, lockedOwners, ids.length, ctx.quotaWarningThresholds, bodyIdx, ...logCols];
  type Row = { stored: { id: string; uid: number }[] | null; ok: number };
  const dots = bodies.map(hasDotLines);
  // Named statements (planned once per connection, unless DATABASE_PREPARED_STATEMENTS is off): a batch of large
  // bodies only has one text per delivery-log mode; a batch of small bodies only has one per batch size up to
  // NAMED_SMALL_BATCHES and log mode (10 KB ingest, interleaved: PostgreSQL's CPU per message went from 1.44-1.61 ms,
  // parsed and planned per batch, to 0.87-0.89 ms). A mixed batch is parsed and planned anew.
  const suffix = log ? '_log' : '';
  const name = !ctx.preparedStatements
    ? undefined
    : allParted
      ? `mailroom_store_parts${suffix}`
      : parts === 0 && bodies.length <= NAMED_SMALL_BATCHES
        ? `mailroom_store_${bodies.length}${suffix}`
        : undefined;
  // The bodies not in parts are the last parameters: sent as they are, never copied into pg's Bind buffer. With
  // `commit`, the transaction's COMMIT goes in the same round trip; a refusal (the 1/0 above) keeps it from running.
  const copyFirst = options.open && { statements: options.open.statements, ...messagePartsCopy(options.open.parts) };
  const { rows } = await queryWithBuffers<Row>(tx, text, [...values, dots, ...bodies.filter((_, k) => !parted[k])], name, {
    thenCommit: options.commit ?? false,
    ...(copyFirst ? { copyFirst } : {}),
  });
  const r = rows[0]!;
  if ((r.stored?.length ?? 0) !== ids.length) {
    // unreachable: the statement divides by zero unless every message went in (and with `commit` it is then stored)
    throw options.commit ? new CommittedBatchError(new Error(`${r.stored?.length ?? 0} of ${ids.length} stored`)) : new BatchRefused();
  }
  const uids = new Map(r.stored!.map((x) => [x.id, Number(x.uid)]));
  return batch.map((item) => ({
    ok: true,
    copies: item.copies.map((c) => {
      const uid = uids.get(c.messageId)!;
      return {
        messageId: c.messageId,
        mailboxId: c.target.mailboxId,
        address: c.target.address,
        uid,
        uidl: `${uid}.${c.messageId.replace(/-/g, '')}`,
        sizeOctets: c.size,
      };
    }),
  }));
}

/**
 * Applies one request inside `tx`; a refusal leaves the transaction as it found it (savepoint or compensation).
 * `lockedOwners`: the limited owners whose rows `tx` holds (lockOwners), whose totals are checked here.
 */
export async function applyStore(
  ctx: StoreContext,
  tx: PgPoolClient,
  item: PendingStore,
  useSavepoint: boolean,
  lockedOwners: string[],
  warnings: QuotaWarning[],
): Promise<StoreResult> {
  const due: QuotaWarning[] = [];
  if (useSavepoint) await tx.query('SAVEPOINT mailroom_store');
  const stored: StoredCopy[] = [];
  for (const c of item.copies) {
    const size = c.size;
    const suffix = c.messageId.replace(/-/g, '');
    const inParts = storedInParts(c.body);
    // trace fields and body travel as one binary parameter in two parts: no copy of the message in JS (a body stored
    // in parts follows the statement as a COPY)
    const { rows } = await queryWithBuffers<{
      uid: number | null;
      domain_id: string | null;
      domain_ok: boolean;
      inserted: boolean;
      warn: WarnRow | null;
    }>(
      tx,
      `
      WITH ${quotaWarningLockSql('($2::uuid)', '$8::int[]')}, mb AS (
        UPDATE mailboxes m
           SET next_uid = m.next_uid + 1, ${mailboxUsageAddSql('$3::bigint', '1')}, updated_at = now(),
               quota_warned_percent = ${quotaLevelSql('m.used_bytes + $3::bigint')}
          FROM warn_lock wl
         WHERE m.id = $2::uuid AND wl.id = m.id AND m.enabled
           AND ${mailboxFitsSql('$3::bigint')}
     RETURNING m.next_uid - 1 AS uid, m.domain_id, m.used_bytes, m.quota_bytes, ${quotaWarningDueSql('$3::bigint')} AS warn_percent
      ), dom AS (
        UPDATE domains d
           SET ${domainUsageAddSql('$3::bigint')}, updated_at = now()
          FROM mb, users u
         WHERE d.id = mb.domain_id AND u.id = d.owner_id AND d.active AND d.verified_at IS NOT NULL AND NOT u.disabled
           AND ${domainFitsSql('$3::bigint')}
           AND (u.max_storage_bytes IS NULL
                OR (u.id = ANY($7::uuid[])
                    AND ${ownerUsedSql()} + $3::bigint <= u.max_storage_bytes))
     RETURNING d.id
      ), ins AS (
        INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw, envelope_from, received_at, dot_lines)
        SELECT $1::uuid, $2::uuid, mb.uid, mb.uid::text || '.' || $4::text,
               $3::int, $9::bytea, $5::text, $6::timestamptz, ${hasDotLines(c.body)}
          FROM mb, dom
     RETURNING uid
      )
      SELECT (SELECT uid FROM mb) AS uid, (SELECT domain_id::text FROM mb) AS domain_id,
             EXISTS (SELECT 1 FROM dom) AS domain_ok, EXISTS (SELECT 1 FROM ins) AS inserted,
             (SELECT json_build_object('mailbox_id', $2::uuid, 'percent', warn_percent, 'used', used_bytes::text, 'quota', quota_bytes::text)
                FROM mb WHERE warn_percent IS NOT NULL) AS warn`,
      [
        c.messageId,
        c.target.mailboxId,
        size,
        suffix,
        item.envelopeFrom,
        item.date.toISOString(),
        lockedOwners,
        ctx.quotaWarningThresholds,
        new ByteaParts(inParts ? [c.trace] : [c.trace, c.body]),
      ],
    );
    const r = rows[0]!;
    if (r.inserted && r.uid !== null) {
      if (inParts) await copyMessageParts(tx, [{ messageId: c.messageId, headOctets: c.trace.length, body: c.body }]);
      const uid = Number(r.uid);
      if (r.warn) due.push(toQuotaWarning(r.warn, c.target.address));
      stored.push({
        messageId: c.messageId,
        mailboxId: c.target.mailboxId,
        address: c.target.address,
        uid,
        uidl: `${uid}.${suffix}`,
        sizeOctets: size,
      });
      continue;
    }
    let refusal: { reply: SmtpReply; reason: string };
    if (r.uid === null) {
      const { rows: state } = await tx.query<{ enabled: boolean }>('SELECT enabled FROM mailboxes WHERE id = $1::uuid', [
        c.target.mailboxId,
      ]);
      if (!state[0]) refusal = { reply: REPLIES.unknownUser, reason: 'mailbox vanished' };
      else if (!state[0].enabled) refusal = { reply: REPLIES.disabled, reason: 'mailbox disabled' };
      else refusal = { reply: quotaReply(ctx.quotaReply, 'mailbox'), reason: 'mailbox quota exceeded' };
    } else {
      const { rows: state } = await tx.query<{ active: boolean; domain_full: boolean }>(
        `SELECT (d.active AND d.verified_at IS NOT NULL AND NOT u.disabled) AS active,
                (d.max_storage_bytes IS NOT NULL AND d.used_bytes + $2::bigint > d.max_storage_bytes) AS domain_full
           FROM domains d JOIN users u ON u.id = d.owner_id WHERE d.id = $1::uuid`,
        [r.domain_id, size],
      );
      refusal = !state[0]?.active
        ? { reply: REPLIES.domainDisabled, reason: 'domain disabled' }
        : state[0].domain_full
          ? { reply: quotaReply(ctx.quotaReply, 'domain'), reason: 'domain storage limit exceeded' }
          : { reply: quotaReply(ctx.quotaReply, 'owner'), reason: 'owner storage limit exceeded' };
    }
    if (useSavepoint) {
      await tx.query('ROLLBACK TO SAVEPOINT mailroom_store');
      await tx.query('RELEASE SAVEPOINT mailroom_store');
    } else if (r.uid !== null) {
      // single copy whose domain refused it: undo its mailbox update (our row lock means nobody saw it)
      await tx.query(
        'UPDATE mailboxes SET next_uid = next_uid - 1, used_bytes = used_bytes - $2::bigint, message_count = message_count - 1 WHERE id = $1::uuid',
        [c.target.mailboxId, size],
      );
    }
    return { ok: false, ...refusal, mailboxId: c.target.mailboxId };
  }
  if (ctx.deliveryLog) await insertDeliveredLog(tx, item, stored);
  if (useSavepoint) await tx.query('RELEASE SAVEPOINT mailroom_store');
  warnings.push(...due);
  return { ok: true, copies: stored };
}

/** The delivery log entries of one request's stored copies, inside its transaction (their ids are the messages'). */
async function insertDeliveredLog(tx: PgPoolClient, item: PendingStore, stored: StoredCopy[]): Promise<void> {
  const rcpt = new Map(item.copies.map((c) => [c.messageId, c.rcptTo]));
  const l = item.log;
  await tx.query(
    `INSERT INTO delivery_log (id, domain_id, mailbox_id, result, reply_code, enhanced_code, envelope_from, header_from,
                               recipient, size_octets, message_id, uid, client_address, protocol, queue_id)
     SELECT t.id, m.domain_id, t.mailbox_id, 'delivered', 250, '2.0.0', $4, $11, t.rcpt, $5, $6, t.uid, $7, $8, $9
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $10::int[]) AS t(id, mailbox_id, rcpt, uid)
       JOIN mailboxes m ON m.id = t.mailbox_id`,
    [
      stored.map((c) => c.messageId),
      stored.map((c) => c.mailboxId),
      stored.map((c) => rcpt.get(c.messageId)!),
      item.envelopeFrom,
      l.sizeOctets,
      l.messageId,
      l.clientAddress,
      l.protocol,
      l.queueId,
      stored.map((c) => c.uid),
      l.headerFrom,
    ],
  );
}

/**
 * Delivers the due quota warnings (see QUOTA_WARNING_DUE) into their mailboxes, inside the delivery's transaction:
 * a plain-text message from postmaster@<domain> with the usage figures, stored with counts_toward_quota = false, so
 * it adds to neither the mailbox's nor the domain's used_bytes (it can never push a mailbox over its quota), while
 * its size_octets stays exact for POP3 STAT/LIST, and writes the `mailbox.quota_warning` webhook event with it. Under a
 * savepoint: a failure here is logged by the caller's onQuotaWarnings and never fails the delivery.
 */
export async function deliverQuotaWarnings(ctx: StoreContext, tx: PgPoolClient, warnings: QuotaWarning[]): Promise<void> {
  if (!warnings.length) return;
  await tx.query('SAVEPOINT mailroom_quota_warning');
  try {
    for (const w of warnings) {
      const id = newId();
      const raw = buildQuotaWarningMessage(w, { hostname: ctx.hostname, messageId: id, date: new Date() });
      await tx.query(
        `WITH mb AS (
           UPDATE mailboxes SET next_uid = next_uid + 1, message_count = message_count + 1, quota_warned_at = now()
            WHERE id = $2::uuid RETURNING next_uid - 1 AS uid)
         INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw, envelope_from, received_at, counts_toward_quota, dot_lines)
         SELECT $1::uuid, $2::uuid, mb.uid, mb.uid::text || '.' || $3::text, $4::int, $5::bytea, '', now(), false,
                ${hasDotLines(raw)} FROM mb`,
        [id, w.mailboxId, id.replace(/-/g, ''), raw.length, raw],
      );
      await recordMailboxEventSql(tx, 'mailbox.quota_warning', w.mailboxId, {
        address: w.address,
        percent: w.percent,
        usedBytes: Number(w.usedBytes),
        quotaBytes: Number(w.quotaBytes),
      });
    }
    await tx.query('RELEASE SAVEPOINT mailroom_quota_warning');
  } catch (err) {
    await tx.query('ROLLBACK TO SAVEPOINT mailroom_quota_warning');
    await tx.query('RELEASE SAVEPOINT mailroom_quota_warning');
    for (const w of warnings) w.failed = err;
  }
}
