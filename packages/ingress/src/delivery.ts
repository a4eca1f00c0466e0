import { isDatabaseUnavailable, normalizeDomain, normalizeLocalPart, recordMailboxEventSql } from '@mailroom/core';
import { newId, pgPoolOf, Prisma, type PgPool, type PgPoolClient, type PrismaClient } from '@mailroom/db';
import { buildTraceFields, messageIdHeader, newQueueId, normalizeCrlf, type TraceInfo } from './message.ts';
import { REPLIES, quotaReply, type QuotaReplyMode, type SmtpReply } from './replies.ts';
import { buildQuotaWarningMessage } from './quota-warning.ts';

/** One mailbox a recipient resolves to. */
export interface DeliveryTarget {
  mailboxId: string;
  domainId: string;
  /** `local@domain` of the mailbox (the Delivered-To value). */
  address: string;
  /**
   * The domain's owner had a storage limit at RCPT time, so storing takes the owner's row lock first (see lockOwners).
   * A hint only: a target without it whose owner turns out to be limited is refused by the batch and stored on its own.
   */
  ownerLimited?: boolean;
}

export type RecipientResolution =
  | { ok: true; recipient: string; kind: 'mailbox' | 'alias' | 'catch-all' | 'postmaster'; targets: DeliveryTarget[] }
  | { ok: false; recipient: string; reply: SmtpReply; reason: string; domainId?: string; mailboxId?: string };

export interface StoredCopy {
  messageId: string;
  mailboxId: string;
  address: string;
  uid: number;
  uidl: string;
  sizeOctets: number;
}

export type StoreResult = { ok: true; copies: StoredCopy[] } | { ok: false; reply: SmtpReply; reason: string; mailboxId?: string };

export interface StoreRequest {
  /** Mailboxes to store into; `rcptTo` names the recipient that led to a target (defaults to the request's). */
  targets: (DeliveryTarget & { rcptTo?: string })[];
  /** The message as received, line endings already CRLF. */
  body: Buffer;
  envelopeFrom: string;
  /** The recipient as given in RCPT TO. */
  rcptTo: string;
  queueId: string;
  helo: string;
  remoteAddress: string;
  protocol: TraceInfo['protocol'];
  date?: Date;
  /** false: store the body exactly as given, without Return-Path/Delivered-To/Received (mbox import, POP3 fetch). */
  trace?: boolean;
  /** The message's Message-ID field for the delivery log; computed from `body` when not given. */
  messageId?: string | null;
}

export interface DeliveryServiceOptions {
  quotaReply?: QuotaReplyMode;
  /** Host name written into Received fields. */
  hostname?: string;
  /** Interactive transaction timeout (large messages take a while to write). */
  transactionTimeoutMs?: number;
  /** Called after each group-commit transaction (for metrics). */
  onBatch?: (info: BatchInfo) => void;
  /** Takes mail to `postmaster` that no hosted domain takes (RFC 5321 §4.5.1); a hosted mailbox or alias. */
  postmasterAddress?: string | undefined;
  /** Write a delivery log entry for each stored copy in the delivery's own statement (DELIVERY_LOG, default on). */
  deliveryLog?: boolean | undefined;
  /** Quota warning thresholds (percent) of domains without their own (QUOTA_WARNING_THRESHOLDS, default 80,95). */
  quotaWarningThresholds?: readonly number[] | undefined;
  /** Called after quota warnings were delivered into mailboxes (for metrics and logs). */
  onQuotaWarnings?: ((warnings: QuotaWarning[]) => void) | undefined;
}

/** Operator default of the quota warning thresholds, in percent of a mailbox's quota. */
export const DEFAULT_QUOTA_WARNING_THRESHOLDS: readonly number[] = [80, 95];

/** A mailbox whose usage crossed a warning threshold with this delivery (decided in the delivery's statement). */
export interface QuotaWarning {
  mailboxId: string;
  /** `local@domain` of the mailbox. */
  address: string;
  /** The highest threshold reached, in percent. */
  percent: number;
  usedBytes: bigint;
  quotaBytes: bigint;
  /** Set when the warning message could not be stored (the delivery itself went through). */
  failed?: unknown;
}

export interface BatchInfo {
  requests: number;
  copies: number;
  bytes: number;
  /** Transaction time from BEGIN to the end of COMMIT. */
  seconds: number;
  /** `refused`: a quota or disabled target in the batch; `failed`: the transaction failed. Both retry one by one. */
  outcome: 'committed' | 'refused' | 'failed';
  /** The error of a failed batch. */
  error?: unknown;
}

/** Requests stored in one transaction at most, and the octets after which a batch takes no more requests. */
const MAX_BATCH_REQUESTS = 64;
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

/** Where storage statements run: the pool (one statement, its own transaction) or a client inside BEGIN … COMMIT. */
type Sql = PgPool | PgPoolClient;

/** A batch in which some mailbox or domain refused its share (see applyBatch). */
class BatchRefused extends Error {}

const DIVISION_BY_ZERO = '22012';

function isBatchRefused(err: unknown): boolean {
  if (err instanceof BatchRefused) return true;
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    const o = e as { code?: unknown; originalCode?: unknown; meta?: { code?: unknown; driverAdapterError?: unknown }; cause?: unknown };
    if (o.code === DIVISION_BY_ZERO || o.originalCode === DIVISION_BY_ZERO || o.meta?.code === DIVISION_BY_ZERO) return true;
    e = o.cause ?? o.meta?.driverAdapterError;
  }
  return /division by zero/.test(String((err as { message?: unknown })?.message ?? ''));
}

interface PreparedCopy {
  target: DeliveryTarget;
  /** This copy's trace fields; the stored message is trace + body (joined only while it is being sent). */
  trace: Buffer;
  /** Shared by every copy of the message. */
  body: Buffer;
  /** Octets of trace + body. */
  size: number;
  messageId: string;
  /** The recipient (RCPT TO) that led to this copy, for the delivery log. */
  rcptTo: string;
}

interface PendingStore {
  copies: PreparedCopy[];
  envelopeFrom: string;
  date: Date;
  /** Delivery log columns shared by the request's copies. */
  log: { queueId: string; clientAddress: string; protocol: string; messageId: string | null; sizeOctets: number };
  resolve(result: StoreResult): void;
  reject(err: unknown): void;
}

/** The owner's storage limit and usage (the sum over the owner's domains; 0 when the owner is unlimited). */
interface OwnerColumns {
  owner_max: bigint | null;
  owner_used: bigint | null;
}

interface DomainRow extends OwnerColumns {
  domain_id: string;
  domain_active: boolean;
  max_storage_bytes: bigint | null;
  domain_used: bigint;
  mailbox_id: string | null;
  local_part: string | null;
  enabled: boolean | null;
  quota_bytes: bigint | null;
  used_bytes: bigint | null;
}

interface AliasRow extends OwnerColumns {
  alias_local_part: string | null;
  mailbox_id: string | null;
  local_part: string | null;
  enabled: boolean | null;
  quota_bytes: bigint | null;
  used_bytes: bigint | null;
  domain_id: string | null;
  domain_name: string | null;
  domain_active: boolean | null;
  max_storage_bytes: bigint | null;
  domain_used: bigint | null;
}

interface Usage {
  quota: bigint | null;
  used: bigint;
}

function fits(u: Usage, extra: number): boolean {
  return u.quota === null || u.used + BigInt(extra) <= u.quota;
}

function ownerUsage(r: OwnerColumns): Usage {
  return { quota: r.owner_max, used: r.owner_used ?? 0n };
}

/** Owner limit and usage of the row's `u` (users) alias, for the recipient queries; usage is only summed for limited owners. */
const OWNER_COLUMNS = `u.max_storage_bytes AS owner_max,
  CASE WHEN u.max_storage_bytes IS NULL THEN 0::bigint
       ELSE (SELECT coalesce(sum(o.used_bytes), 0)::bigint FROM domains o WHERE o.owner_id = u.id) END AS owner_used`;

/**
 * Locks the rows of the mailboxes being stored into (in id order, as FOR NO KEY UPDATE) and reads, as of the lock, the
 * threshold each was last warned about and its domain's thresholds. In READ COMMITTED a locking read returns the
 * latest committed row, so two deliveries crossing one threshold at once see each other: the second sees the first's
 * warning (a plain read of the same statement's snapshot would not).
 */
function quotaWarningLockSql(mailboxIds: string, defaultThresholds: string): string {
  return `warn_lock AS (
        SELECT m.id, m.quota_warned_percent AS warned, coalesce(d.quota_warning_thresholds, ${defaultThresholds}) AS thresholds
          FROM mailboxes m JOIN domains d ON d.id = m.domain_id
         WHERE m.id IN ${mailboxIds}
         ORDER BY m.id FOR NO KEY UPDATE OF m
      )`;
}

/** The highest warning threshold `used` reaches of the mailbox `m`'s quota (null: none); stored as quota_warned_percent. */
function quotaLevelSql(used: string): string {
  return `mailroom_quota_warning_level(${used}, m.quota_bytes, wl.thresholds)`;
}

/**
 * QUOTA_WARNING_DUE — the one place where a quota warning is decided, inside the delivery's statement (RETURNING of the
 * mailbox UPDATE, `m` = the updated row, `wl` = warn_lock): a warning is due when the level reached now is above both
 * the level last warned about and the level before this delivery. The second term re-arms a warning once usage fell
 * below its threshold (POP3 DELE, deletions in the panel) without anything else having to reset it; the first keeps
 * a warning from repeating while usage stays above it. The row lock makes concurrent deliveries see each other.
 */
function quotaWarningDueSql(addedBytes: string): string {
  return `CASE WHEN m.quota_warned_percent > LEAST(coalesce(wl.warned, 0),
                   coalesce(mailroom_quota_warning_level(m.used_bytes - ${addedBytes}, m.quota_bytes, wl.thresholds), 0))
               THEN m.quota_warned_percent END`;
}

interface WarnRow {
  mailbox_id: string;
  percent: number;
  used: string;
  quota: string;
}

function toQuotaWarning(w: WarnRow, address: string): QuotaWarning {
  return { mailboxId: w.mailbox_id, address, percent: Number(w.percent), usedBytes: BigInt(w.used), quotaBytes: BigInt(w.quota) };
}

/**
 * Recipient policy and storage: resolves `local@domain` to mailboxes (mailbox, alias fan-out, catch-all) and stores a
 * message into them in one transaction, keeping UIDs, usage counters and domain usage exact.
 */
export class DeliveryService {
  readonly quotaReply: QuotaReplyMode;
  readonly hostname: string;
  private readonly transactionTimeoutMs: number;

  constructor(
    private readonly prisma: PrismaClient,
    options: DeliveryServiceOptions = {},
  ) {
    this.quotaReply = options.quotaReply ?? 'temporary';
    this.hostname = options.hostname ?? 'localhost';
    this.transactionTimeoutMs = options.transactionTimeoutMs ?? 120_000;
    const pool = pgPoolOf(prisma);
    if (!pool) throw new Error('DeliveryService needs a client from createPrismaClient (message data goes through its pg pool)');
    this.pool = pool;
    this.onBatch = options.onBatch;
    this.postmasterAddress = options.postmasterAddress;
    this.deliveryLog = options.deliveryLog ?? true;
    this.quotaWarningThresholds = [...(options.quotaWarningThresholds ?? DEFAULT_QUOTA_WARNING_THRESHOLDS)];
    this.onQuotaWarnings = options.onQuotaWarnings;
  }

  /** Stored copies get a delivery log entry in the statement that stores them. */
  readonly deliveryLog: boolean;
  private readonly quotaWarningThresholds: number[];
  private readonly onQuotaWarnings: ((warnings: QuotaWarning[]) => void) | undefined;

  private readonly postmasterAddress: string | undefined;

  /**
   * Message data is written through `pg` directly, as binary parameters: Prisma serialises a Buffer parameter through
   * text copies costing about 7× its size in memory (measured with bench/memory.ts), `pg` about 1×.
   */
  private readonly pool: PgPool;

  private readonly onBatch: ((info: BatchInfo) => void) | undefined;

  /**
   * Resolves a recipient. `declaredSize` (MAIL FROM SIZE=) lets a full mailbox be refused at RCPT time; without it a
   * mailbox already at or over its quota is refused. Case-insensitive; the first match wins: mailbox, alias, catch-all.
   */
  async resolveRecipient(recipient: string, declaredSize = 0): Promise<RecipientResolution> {
    const resolved = await this.resolveHosted(recipient, declaredSize);
    // RFC 5321 §4.5.1: mail to postmaster is accepted — the bare <postmaster>, or postmaster@ a hosted, active domain
    // that has no address for it — and goes to the operator's postmaster address when one is configured.
    const isPostmaster = /^postmaster$/i.test(recipient) || (/^postmaster@/i.test(recipient) && !resolved.ok && resolved.reply === REPLIES.unknownUser);
    if (!isPostmaster || !this.postmasterAddress) return resolved;
    const routed = await this.resolveHosted(this.postmasterAddress, declaredSize);
    if (!routed.ok) return { ...routed, recipient, reason: `postmaster address ${this.postmasterAddress}: ${routed.reason}` };
    return { ...routed, recipient, kind: 'postmaster' };
  }

  private async resolveHosted(recipient: string, declaredSize: number): Promise<RecipientResolution> {
    const fail = (reply: SmtpReply, reason: string, ids: { domainId?: string; mailboxId?: string } = {}): RecipientResolution => ({ ok: false, recipient, reply, reason, ...ids });
    const at = recipient.lastIndexOf('@');
    if (at <= 0 || at === recipient.length - 1) return fail(REPLIES.badAddress, 'address without domain');
    const domain = normalizeDomain(recipient.slice(at + 1));
    if (!domain) return fail(REPLIES.badAddress, 'invalid domain');
    const localPart = normalizeLocalPart(recipient.slice(0, at)) ?? null;

    const rows = await this.prisma.$queryRaw<DomainRow[]>`
      SELECT d.id::text AS domain_id, (d.active AND NOT u.disabled) AS domain_active, d.max_storage_bytes,
             d.used_bytes AS domain_used, m.id::text AS mailbox_id, m.local_part, m.enabled, m.quota_bytes, m.used_bytes,
             ${Prisma.raw(OWNER_COLUMNS)}
      FROM domains d
      JOIN users u ON u.id = d.owner_id
      LEFT JOIN mailboxes m ON m.domain_id = d.id AND m.local_part = ${localPart ?? ''}
      WHERE d.name = ${domain} AND d.verified_at IS NOT NULL`;
    const row = rows[0];
    // A pending (unverified) claim is not hosted: refused exactly like a name nobody claimed.
    if (!row) return fail(REPLIES.relayDenied, 'domain not hosted');
    if (!row.domain_active) return fail(REPLIES.domainDisabled, 'domain disabled', { domainId: row.domain_id });
    const domainUsage: Usage = { quota: row.max_storage_bytes, used: row.domain_used };

    if (row.mailbox_id) {
      const ids = { domainId: row.domain_id, mailboxId: row.mailbox_id };
      if (!row.enabled) return fail(REPLIES.disabled, 'mailbox disabled', ids);
      const mailboxUsage: Usage = { quota: row.quota_bytes, used: row.used_bytes ?? 0n };
      const q = this.quotaCheck(mailboxUsage, domainUsage, ownerUsage(row), declaredSize);
      if (q) return fail(q, 'over quota', ids);
      return {
        ok: true,
        recipient,
        kind: 'mailbox',
        targets: [{ mailboxId: row.mailbox_id, domainId: row.domain_id, address: `${row.local_part}@${domain}`, ownerLimited: row.owner_max !== null }],
      };
    }

    const aliasRows = await this.prisma.$queryRaw<AliasRow[]>`
      SELECT a.local_part AS alias_local_part, m.id::text AS mailbox_id, m.local_part, m.enabled, m.quota_bytes,
             m.used_bytes, md.id::text AS domain_id, md.name AS domain_name,
             (md.active AND md.verified_at IS NOT NULL AND NOT u.disabled) AS domain_active, md.max_storage_bytes, md.used_bytes AS domain_used,
             ${Prisma.raw(OWNER_COLUMNS)}
      FROM aliases a
      LEFT JOIN alias_destinations ad ON ad.alias_id = a.id
      LEFT JOIN mailboxes m ON m.id = ad.mailbox_id
      LEFT JOIN domains md ON md.id = m.domain_id
      LEFT JOIN users u ON u.id = md.owner_id
      WHERE a.domain_id = ${row.domain_id}::uuid AND a.enabled
        AND (a.local_part IS NULL OR a.local_part = ${localPart ?? ''})`;
    const exact = localPart ? aliasRows.filter((r) => r.alias_local_part === localPart) : [];
    const chosen = exact.length ? exact : aliasRows.filter((r) => r.alias_local_part === null);
    const kind = exact.length ? 'alias' : 'catch-all';
    const domainIds = { domainId: row.domain_id };
    if (!chosen.length) return fail(REPLIES.unknownUser, localPart ? 'unknown user' : 'invalid local part', domainIds);
    const destinations = chosen.filter((r) => r.mailbox_id);
    if (!destinations.length) return fail(REPLIES.unknownUser, `${kind} without destinations`, domainIds);
    const live = destinations.filter((r) => r.enabled && r.domain_active);
    if (!live.length) return fail(REPLIES.disabled, `${kind} destinations disabled`, domainIds);
    const targets = new Map<string, DeliveryTarget>();
    for (const r of live) {
      const q = this.quotaCheck({ quota: r.quota_bytes, used: r.used_bytes ?? 0n }, { quota: r.max_storage_bytes, used: r.domain_used ?? 0n }, ownerUsage(r), declaredSize);
      if (q) return fail(q, `${kind} destination over quota`, domainIds);
      targets.set(r.mailbox_id!, { mailboxId: r.mailbox_id!, domainId: r.domain_id!, address: `${r.local_part}@${r.domain_name}`, ownerLimited: r.owner_max !== null });
    }
    return { ok: true, recipient, kind, targets: [...targets.values()] };
  }

  private quotaCheck(mailbox: Usage, domain: Usage, owner: Usage, declaredSize: number): SmtpReply | undefined {
    // Without a declared size, refuse only what is already full; the exact check happens when storing.
    const extra = declaredSize > 0 ? declaredSize : 1;
    if (!fits(mailbox, extra)) return quotaReply(this.quotaReply, 'mailbox');
    if (!fits(domain, extra)) return quotaReply(this.quotaReply, 'domain');
    if (!fits(owner, extra)) return quotaReply(this.quotaReply, 'owner');
    return undefined;
  }

  /**
   * Locks (FOR NO KEY UPDATE, in id order) the rows of the limited owners of the batch's mailboxes and returns their
   * ids. An owner's usage is the sum over its domains, which several transactions can raise at once; every delivery
   * to a limited owner holds this lock until its commit, and sums the usage in a later statement (a fresh snapshot in
   * READ COMMITTED), so it sees every earlier delivery and concurrent ones cannot overshoot the limit together.
   */
  private async lockOwners(tx: PgPoolClient, batch: PendingStore[]): Promise<string[]> {
    const domainIds = [...new Set(batch.flatMap((item) => item.copies.map((c) => c.target.domainId)))];
    const { rows } = await tx.query<{ id: string }>(
      `SELECT u.id::text AS id FROM users u
        WHERE u.max_storage_bytes IS NOT NULL
          AND u.id IN (SELECT d.owner_id FROM domains d WHERE d.id = ANY($1::uuid[]))
        ORDER BY u.id FOR NO KEY UPDATE`,
      [domainIds],
    );
    return rows.map((r) => r.id);
  }

  /** Runs `fn` in one transaction on one pooled connection (statements limited to transactionTimeoutMs each). */
  private async transaction<T>(fn: (tx: PgPoolClient) => Promise<T>): Promise<T> {
    const tx = await this.pool.connect();
    let broken = false;
    try {
      await tx.query('BEGIN');
      await tx.query(`SET LOCAL statement_timeout = ${Math.trunc(this.transactionTimeoutMs)}`);
      const result = await fn(tx);
      await tx.query('COMMIT');
      return result;
    } catch (err) {
      await tx.query('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      tx.release(broken);
    }
  }

  /**
   * Stores one copy per target, all or nothing, and resolves only after the commit. Per copy, one statement takes the
   * next UID and adds size and count on the locked mailbox row under its quota, raises the domain's usage under its
   * storage limit and inserts the message; nothing is ever half-stored.
   *
   * Group commit: every delivery of a domain must update the domain's usage row, whose lock is held until the commit
   * is flushed, so one transaction per message caps a domain at one message per WAL flush. Requests that arrive while a
   * transaction is running are therefore stored together in the next one (one flush for the batch); a request refused
   * by a quota is undone inside the batch without touching the others. If a batch fails as a whole (deadlock with
   * another process, lost connection), each request is retried in its own transaction.
   */
  store(req: StoreRequest): Promise<StoreResult> {
    const targets = [...new Map(req.targets.map((t) => [t.mailboxId, t])).values()].sort((a, b) => (a.mailboxId < b.mailboxId ? -1 : 1));
    if (!targets.length) return Promise.resolve({ ok: true, copies: [] });
    const date = req.date ?? new Date();
    const copies: PreparedCopy[] = targets.map((t) => {
      const trace = req.trace === false ? Buffer.alloc(0) : buildTraceFields({
        envelopeFrom: req.envelopeFrom,
        deliveredTo: t.address,
        rcptTo: t.rcptTo ?? req.rcptTo,
        helo: req.helo,
        remoteAddress: req.remoteAddress,
        hostname: this.hostname,
        protocol: req.protocol,
        queueId: req.queueId,
        date,
      });
      return { target: t, trace, body: req.body, size: trace.length + req.body.length, messageId: newId(), rcptTo: t.rcptTo ?? req.rcptTo };
    });
    const log = {
      queueId: req.queueId,
      clientAddress: req.remoteAddress,
      protocol: req.protocol,
      messageId: this.deliveryLog ? (req.messageId === undefined ? messageIdHeader(req.body) : req.messageId) : null,
      sizeOctets: req.body.length,
    };
    return new Promise((resolve, reject) => {
      this.queue.push({ copies, envelopeFrom: req.envelopeFrom, date, log, resolve, reject });
      this.pump();
    });
  }

  private readonly queue: PendingStore[] = [];
  private running = false;

  private pump(): void {
    if (this.running || !this.queue.length) return;
    const batch: PendingStore[] = [];
    let bytes = 0;
    while (this.queue.length && batch.length < MAX_BATCH_REQUESTS && (batch.length === 0 || bytes < MAX_BATCH_BYTES)) {
      const next = this.queue.shift()!;
      batch.push(next);
      for (const c of next.copies) bytes += c.size;
    }
    this.running = true;
    this.runBatch(batch).finally(() => {
      this.running = false;
      this.pump();
    });
  }

  private async runBatch(batch: PendingStore[]): Promise<void> {
    const started = performance.now();
    const report = (outcome: BatchInfo['outcome'], error?: unknown) => {
      if (!this.onBatch) return;
      let copies = 0;
      let bytes = 0;
      for (const item of batch) {
        for (const c of item.copies) {
          copies++;
          bytes += c.size;
        }
      }
      this.onBatch({ requests: batch.length, copies, bytes, seconds: (performance.now() - started) / 1000, outcome, ...(error ? { error } : {}) });
    };
    try {
      const ownerLimited = batch.some((item) => item.copies.some((c) => c.target.ownerLimited));
      const warnings: QuotaWarning[] = [];
      // one statement for the whole batch, any message size (bodies are binary parameters); without a limited owner it
      // is its own implicit transaction: no BEGIN/COMMIT round trips (a due quota warning aborts it, and the requests
      // are then stored one by one in transactions that deliver the warning)
      const results = !ownerLimited
        ? await this.applyBatch(this.pool, batch, [], null)
        : // a limited owner: its row lock first, then the same one statement
          await this.transaction(async (tx) => {
            const out = await this.applyBatch(tx, batch, await this.lockOwners(tx, batch), warnings);
            await this.deliverQuotaWarnings(tx, warnings);
            return out;
          });
      if (warnings.length) this.onQuotaWarnings?.(warnings);
      report('committed');
      batch.forEach((item, i) => item.resolve(results[i]!));
      return;
    } catch (err) {
      if (isBatchRefused(err)) report('refused');
      else report('failed', err);
    }
    // Something in the batch was refused (quota, disabled) or the transaction failed: store each request on its own,
    // which also finds the exact reason for a refusal.
    for (const item of batch) {
      try {
        const warnings: QuotaWarning[] = [];
        const result = await this.transaction(async (tx) => {
          const out = await this.applyStore(tx, item, item.copies.length > 1, await this.lockOwners(tx, [item]), warnings);
          await this.deliverQuotaWarnings(tx, warnings);
          return out;
        });
        if (warnings.length) this.onQuotaWarnings?.(warnings);
        item.resolve(result);
      } catch (e) {
        item.reject(e);
      }
    }
  }

  /**
   * Stores a whole batch with ONE statement (its own transaction): per mailbox, one locking UPDATE takes as many UIDs
   * as it gets messages and adds their sizes under the quota; per domain, one UPDATE adds the usage under the storage
   * limit; each limited owner's total (the sum over its domains) must stay under the owner's limit, and its row must be
   * in `lockedOwners` (see lockOwners); then every message is inserted, with its delivery log entry. If any mailbox,
   * domain or owner refuses its share, the statement fails on purpose (division by zero in its last column, SQLSTATE
   * 22012), which rolls all of it back.
   *
   * Quota warnings are decided in the same statement (see QUOTA_WARNING_DUE): `warnings` collects the due ones, which
   * the caller delivers in the same transaction; null means the statement is its own transaction and cannot deliver
   * them, so a due warning aborts it like a refusal (the requests are then stored one by one in transactions).
   */
  private async applyBatch(tx: Sql, batch: PendingStore[], lockedOwners: string[], warnings: QuotaWarning[] | null): Promise<StoreResult[]> {
    const ids: string[] = [];
    const mailboxIds: string[] = [];
    const sizes: number[] = [];
    const traces: string[] = [];
    const bodyIdx: number[] = [];
    /** Each request's body once (its copies share it), sent as its own binary parameter. */
    const bodies: Buffer[] = [];
    const froms: string[] = [];
    const dates: string[] = [];
    const log = this.deliveryLog;
    const logCols: unknown[][] = log ? [[], [], [], [], [], []] : [];
    for (const item of batch) {
      const body = bodies.push(item.copies[0]!.body);
      for (const c of item.copies) {
        ids.push(c.messageId);
        mailboxIds.push(c.target.mailboxId);
        sizes.push(c.size);
        traces.push(c.trace.toString('base64'));
        bodyIdx.push(body);
        froms.push(item.envelopeFrom);
        dates.push(item.date.toISOString());
        if (log) {
          const l = item.log;
          [c.rcptTo, l.sizeOctets, l.messageId, l.clientAddress, l.protocol, l.queueId].forEach((v, i) => logCols[i]!.push(v));
        }
      }
    }
    const firstBody = 12 + logCols.length;
    const { rows } = await tx.query<{ stored: { id: string; uid: number }[] | null; warn: WarnRow[] | null; ok: number }>(
      `
      WITH input AS (
        -- per copy: its trace fields (small, base64) and which body it shares; the bodies are binary parameters
        SELECT t.*
          FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::text[], $6::timestamptz[], $11::int[]
                      ${log ? ', $12::text[], $13::int[], $14::text[], $15::text[], $16::text[], $17::text[]' : ''})
               WITH ORDINALITY AS t(id, mailbox_id, size, trace64, envelope_from, received_at, body_idx
                                    ${log ? ', rcpt, msg_size, message_id, client, proto, queue_id' : ''}, ord)
      ), per_mailbox AS (
        SELECT mailbox_id, count(*)::int AS n, sum(size)::bigint AS bytes FROM input GROUP BY mailbox_id
      ), ${quotaWarningLockSql('(SELECT mailbox_id FROM per_mailbox)', '$10::int[]')}, mb AS (
        UPDATE mailboxes m
           SET next_uid = m.next_uid + p.n, used_bytes = m.used_bytes + p.bytes,
               message_count = m.message_count + p.n, updated_at = now(),
               quota_warned_percent = ${quotaLevelSql('m.used_bytes + p.bytes')}
          FROM per_mailbox p JOIN warn_lock wl ON wl.id = p.mailbox_id
         WHERE m.id = p.mailbox_id AND m.enabled AND (m.quota_bytes IS NULL OR m.used_bytes + p.bytes <= m.quota_bytes)
     RETURNING m.id, m.domain_id, m.next_uid - p.n AS first_uid, p.bytes, m.used_bytes, m.quota_bytes,
               ${quotaWarningDueSql('p.bytes')} AS warn_percent
      ), per_domain AS (
        SELECT m.domain_id, sum(p.bytes)::bigint AS bytes
          FROM per_mailbox p JOIN mailboxes m ON m.id = p.mailbox_id GROUP BY m.domain_id
      ), dom AS (
        UPDATE domains d
           SET used_bytes = d.used_bytes + pd.bytes, updated_at = now()
          FROM per_domain pd, users u
         WHERE d.id = pd.domain_id AND u.id = d.owner_id AND d.active AND d.verified_at IS NOT NULL AND NOT u.disabled
           AND (d.max_storage_bytes IS NULL OR d.used_bytes + pd.bytes <= d.max_storage_bytes)
     RETURNING d.id
      ), per_owner AS (
        SELECT d.owner_id, sum(pd.bytes)::bigint AS bytes FROM per_domain pd JOIN domains d ON d.id = pd.domain_id GROUP BY d.owner_id
      ), owner_refused AS (
        -- a limited owner whose row this transaction has not locked, or whose domains would go over its limit
        SELECT po.owner_id FROM per_owner po JOIN users u ON u.id = po.owner_id
         WHERE u.max_storage_bytes IS NOT NULL
           AND (NOT u.id = ANY($7::uuid[])
                OR (SELECT coalesce(sum(o.used_bytes), 0) FROM domains o WHERE o.owner_id = u.id) + po.bytes > u.max_storage_bytes)
      ), ins AS (
        INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw, envelope_from, received_at)
        SELECT i.id, i.mailbox_id, u.uid, u.uid::text || '.' || replace(i.id::text, '-', ''), i.size,
               decode(i.trace64, 'base64') || b.body, i.envelope_from, i.received_at
          FROM input i
          -- joined only here, so no body is ever materialised with the CTE
          JOIN (VALUES ${bodies.map((_, k) => `(${k + 1}, $${firstBody + k}::bytea)`).join(', ')}) AS b(idx, body) ON b.idx = i.body_idx
          JOIN (SELECT i2.id, (mb.first_uid + row_number() OVER (PARTITION BY i2.mailbox_id ORDER BY i2.ord) - 1)::int AS uid
                  FROM input i2 JOIN mb ON mb.id = i2.mailbox_id) u ON u.id = i.id
         WHERE (SELECT count(*) FROM mb) = (SELECT count(*) FROM per_mailbox)
           AND (SELECT count(*) FROM dom) = (SELECT count(*) FROM per_domain)
           AND NOT EXISTS (SELECT 1 FROM owner_refused)
           AND ($9::boolean OR NOT EXISTS (SELECT 1 FROM mb WHERE mb.warn_percent IS NOT NULL))
     RETURNING id, mailbox_id, uid
      )${
        log
          ? `, logged AS (
        -- the delivery log entry of each stored copy, in the statement that stores it (its id is the message's)
        INSERT INTO delivery_log (id, domain_id, mailbox_id, result, reply_code, enhanced_code, envelope_from, recipient,
                                  size_octets, message_id, uid, client_address, protocol, queue_id)
        SELECT ins.id, mb.domain_id, ins.mailbox_id, 'delivered', 250, '2.0.0', i.envelope_from, i.rcpt,
               i.msg_size, i.message_id, ins.uid, i.client, i.proto, i.queue_id
          FROM ins JOIN input i ON i.id = ins.id JOIN mb ON mb.id = ins.mailbox_id
      )`
          : ''
      }
      SELECT (SELECT json_agg(json_build_object('id', id, 'uid', uid)) FROM ins) AS stored,
             (SELECT json_agg(json_build_object('mailbox_id', id, 'percent', warn_percent, 'used', used_bytes::text, 'quota', quota_bytes::text))
                FROM mb WHERE warn_percent IS NOT NULL) AS warn,
             -- the deliberate abort: 1/0 unless every mailbox, domain and owner took its share and every message went in
             1 / (CASE WHEN (SELECT count(*) FROM mb) = (SELECT count(*) FROM per_mailbox)
                        AND (SELECT count(*) FROM dom) = (SELECT count(*) FROM per_domain)
                        AND (SELECT count(*) FROM ins) = $8::int
                       THEN 1 ELSE 0 END) AS ok`,
      [ids, mailboxIds, sizes, traces, froms, dates, lockedOwners, ids.length, warnings !== null, this.quotaWarningThresholds, bodyIdx, ...logCols, ...bodies],
    );
    const r = rows[0]!;
    if ((r.stored?.length ?? 0) !== ids.length) throw new BatchRefused();
    const addresses = new Map(batch.flatMap((item) => item.copies.map((c) => [c.target.mailboxId, c.target.address] as const)));
    for (const w of r.warn ?? []) warnings?.push(toQuotaWarning(w, addresses.get(w.mailbox_id)!));
    const uids = new Map(r.stored!.map((x) => [x.id, Number(x.uid)]));
    return batch.map((item) => ({
      ok: true,
      copies: item.copies.map((c) => {
        const uid = uids.get(c.messageId)!;
        return { messageId: c.messageId, mailboxId: c.target.mailboxId, address: c.target.address, uid, uidl: `${uid}.${c.messageId.replace(/-/g, '')}`, sizeOctets: c.size };
      }),
    }));
  }

  /**
   * Applies one request inside `tx`; a refusal leaves the transaction as it found it (savepoint or compensation).
   * `lockedOwners`: the limited owners whose rows `tx` holds (lockOwners), whose totals are checked here.
   */
  private async applyStore(tx: PgPoolClient, item: PendingStore, useSavepoint: boolean, lockedOwners: string[], warnings: QuotaWarning[]): Promise<StoreResult> {
    const due: QuotaWarning[] = [];
    if (useSavepoint) await tx.query('SAVEPOINT mailroom_store');
    const stored: StoredCopy[] = [];
    for (const c of item.copies) {
      const size = c.size;
      const suffix = c.messageId.replace(/-/g, '');
      // trace and body travel as two binary parameters and are joined by the server: no copy of the message in JS
      const { rows } = await tx.query<{ uid: number | null; domain_id: string | null; domain_ok: boolean; inserted: boolean; warn: WarnRow | null }>(
        `
        WITH ${quotaWarningLockSql('($2::uuid)', '$10::int[]')}, mb AS (
          UPDATE mailboxes m
             SET next_uid = m.next_uid + 1, used_bytes = m.used_bytes + $3::bigint,
                 message_count = m.message_count + 1, updated_at = now(),
                 quota_warned_percent = ${quotaLevelSql('m.used_bytes + $3::bigint')}
            FROM warn_lock wl
           WHERE m.id = $2::uuid AND wl.id = m.id AND m.enabled
             AND (m.quota_bytes IS NULL OR m.used_bytes + $3::bigint <= m.quota_bytes)
       RETURNING m.next_uid - 1 AS uid, m.domain_id, m.used_bytes, m.quota_bytes, ${quotaWarningDueSql('$3::bigint')} AS warn_percent
        ), dom AS (
          UPDATE domains d
             SET used_bytes = d.used_bytes + $3::bigint, updated_at = now()
            FROM mb, users u
           WHERE d.id = mb.domain_id AND u.id = d.owner_id AND d.active AND d.verified_at IS NOT NULL AND NOT u.disabled
             AND (d.max_storage_bytes IS NULL OR d.used_bytes + $3::bigint <= d.max_storage_bytes)
             AND (u.max_storage_bytes IS NULL
                  OR (u.id = ANY($9::uuid[])
                      AND (SELECT coalesce(sum(o.used_bytes), 0) FROM domains o WHERE o.owner_id = u.id) + $3::bigint <= u.max_storage_bytes))
       RETURNING d.id
        ), ins AS (
          INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw, envelope_from, received_at)
          SELECT $1::uuid, $2::uuid, mb.uid, mb.uid::text || '.' || $4::text,
                 $3::int, $5::bytea || $6::bytea, $7::text, $8::timestamptz
            FROM mb, dom
       RETURNING uid
        )
        SELECT (SELECT uid FROM mb) AS uid, (SELECT domain_id::text FROM mb) AS domain_id,
               EXISTS (SELECT 1 FROM dom) AS domain_ok, EXISTS (SELECT 1 FROM ins) AS inserted,
               (SELECT json_build_object('mailbox_id', $2::uuid, 'percent', warn_percent, 'used', used_bytes::text, 'quota', quota_bytes::text)
                  FROM mb WHERE warn_percent IS NOT NULL) AS warn`,
        [c.messageId, c.target.mailboxId, size, suffix, c.trace, c.body, item.envelopeFrom, item.date.toISOString(), lockedOwners, this.quotaWarningThresholds],
      );
      const r = rows[0]!;
      if (r.inserted && r.uid !== null) {
        const uid = Number(r.uid);
        if (r.warn) due.push(toQuotaWarning(r.warn, c.target.address));
        stored.push({ messageId: c.messageId, mailboxId: c.target.mailboxId, address: c.target.address, uid, uidl: `${uid}.${suffix}`, sizeOctets: size });
        continue;
      }
      let refusal: { reply: SmtpReply; reason: string };
      if (r.uid === null) {
        const { rows: state } = await tx.query<{ enabled: boolean }>('SELECT enabled FROM mailboxes WHERE id = $1::uuid', [c.target.mailboxId]);
        if (!state[0]) refusal = { reply: REPLIES.unknownUser, reason: 'mailbox vanished' };
        else if (!state[0].enabled) refusal = { reply: REPLIES.disabled, reason: 'mailbox disabled' };
        else refusal = { reply: quotaReply(this.quotaReply, 'mailbox'), reason: 'mailbox quota exceeded' };
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
            ? { reply: quotaReply(this.quotaReply, 'domain'), reason: 'domain storage limit exceeded' }
            : { reply: quotaReply(this.quotaReply, 'owner'), reason: 'owner storage limit exceeded' };
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
    if (this.deliveryLog) await this.insertDeliveredLog(tx, item, stored);
    if (useSavepoint) await tx.query('RELEASE SAVEPOINT mailroom_store');
    warnings.push(...due);
    return { ok: true, copies: stored };
  }

  /** The delivery log entries of one request's stored copies, inside its transaction (their ids are the messages'). */
  private async insertDeliveredLog(tx: PgPoolClient, item: PendingStore, stored: StoredCopy[]): Promise<void> {
    const rcpt = new Map(item.copies.map((c) => [c.messageId, c.rcptTo]));
    const l = item.log;
    await tx.query(
      `INSERT INTO delivery_log (id, domain_id, mailbox_id, result, reply_code, enhanced_code, envelope_from, recipient,
                                 size_octets, message_id, uid, client_address, protocol, queue_id)
       SELECT t.id, m.domain_id, t.mailbox_id, 'delivered', 250, '2.0.0', $4, t.rcpt, $5, $6, t.uid, $7, $8, $9
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $10::int[]) AS t(id, mailbox_id, rcpt, uid)
         JOIN mailboxes m ON m.id = t.mailbox_id`,
      [stored.map((c) => c.messageId), stored.map((c) => c.mailboxId), stored.map((c) => rcpt.get(c.messageId)!), item.envelopeFrom,
       l.sizeOctets, l.messageId, l.clientAddress, l.protocol, l.queueId, stored.map((c) => c.uid)],
    );
  }

  /**
   * Delivers the due quota warnings (see QUOTA_WARNING_DUE) into their mailboxes, inside the delivery's transaction:
   * a plain-text message from postmaster@<domain> with the usage figures, stored with counts_toward_quota = false, so
   * it adds to neither the mailbox's nor the domain's used_bytes (it can never push a mailbox over its quota), while
   * its size_octets stays exact for POP3 STAT/LIST, and writes the `mailbox.quota_warning` webhook event with it. Under a
   * savepoint: a failure here is logged by the caller's onQuotaWarnings and never fails the delivery.
   */
  private async deliverQuotaWarnings(tx: PgPoolClient, warnings: QuotaWarning[]): Promise<void> {
    if (!warnings.length) return;
    await tx.query('SAVEPOINT mailroom_quota_warning');
    try {
      for (const w of warnings) {
        const id = newId();
        const raw = buildQuotaWarningMessage(w, { hostname: this.hostname, messageId: id, date: new Date() });
        await tx.query(
          `WITH mb AS (
             UPDATE mailboxes SET next_uid = next_uid + 1, message_count = message_count + 1, quota_warned_at = now()
              WHERE id = $2::uuid RETURNING next_uid - 1 AS uid)
           INSERT INTO messages (id, mailbox_id, uid, uidl, size_octets, raw, envelope_from, received_at, counts_toward_quota)
           SELECT $1::uuid, $2::uuid, mb.uid, mb.uid::text || '.' || $3::text, $4::int, $5::bytea, '', now(), false FROM mb`,
          [id, w.mailboxId, id.replace(/-/g, ''), raw.length, raw],
        );
        await recordMailboxEventSql(tx, 'mailbox.quota_warning', w.mailboxId, {
          address: w.address, percent: w.percent, usedBytes: Number(w.usedBytes), quotaBytes: Number(w.quotaBytes),
        });
      }
      await tx.query('RELEASE SAVEPOINT mailroom_quota_warning');
    } catch (err) {
      await tx.query('ROLLBACK TO SAVEPOINT mailroom_quota_warning');
      await tx.query('RELEASE SAVEPOINT mailroom_quota_warning');
      for (const w of warnings) w.failed = err;
    }
  }
}

/** Maps an unexpected storage error to a temporary failure (the sender keeps the message and retries). */
export function replyForError(err: unknown): { reply: SmtpReply; reason: string } {
  return { reply: REPLIES.temporaryFailure, reason: isDatabaseUnavailable(err) ? 'database unavailable' : 'internal error' };
}

export interface DeliverMessageInput {
  /** Envelope sender ('' for the null reverse-path). */
  from: string;
  recipients: string[];
  /** The message; line endings are normalised to CRLF. */
  raw: Buffer | string;
  helo?: string;
  remoteAddress?: string;
  hostname?: string;
  quotaReply?: QuotaReplyMode;
}

export interface RecipientOutcome {
  recipient: string;
  ok: boolean;
  reply: SmtpReply;
  /** Copies stored for this recipient (empty when every target already got the message from an earlier recipient). */
  copies: StoredCopy[];
  reason?: string;
}

export interface DeliverMessageResult {
  queueId: string;
  recipients: RecipientOutcome[];
}

/**
 * Delivers one message the way the LMTP listener does, without a socket: each recipient is resolved and stored on its
 * own (one outcome per recipient), and a mailbox reached through several recipients gets the message once. For tests
 * and tools that need mail in a mailbox.
 */
export async function deliverMessage(prisma: PrismaClient, input: DeliverMessageInput): Promise<DeliverMessageResult> {
  const service = new DeliveryService(prisma, { quotaReply: input.quotaReply, hostname: input.hostname });
  const body = normalizeCrlf(input.raw);
  const queueId = newQueueId();
  const done = new Set<string>();
  const recipients: RecipientOutcome[] = [];
  for (const recipient of input.recipients) {
    const resolved = await service.resolveRecipient(recipient, body.length);
    if (!resolved.ok) {
      recipients.push({ recipient, ok: false, reply: resolved.reply, copies: [], reason: resolved.reason });
      continue;
    }
    const targets = resolved.targets.filter((t) => !done.has(t.mailboxId));
    const stored = await service.store({
      targets,
      body,
      envelopeFrom: input.from,
      rcptTo: recipient,
      queueId,
      helo: input.helo ?? 'localhost',
      remoteAddress: input.remoteAddress ?? '127.0.0.1',
      protocol: 'LMTP',
    });
    if (!stored.ok) {
      recipients.push({ recipient, ok: false, reply: stored.reply, copies: [], reason: stored.reason });
      continue;
    }
    for (const t of targets) done.add(t.mailboxId);
    recipients.push({ recipient, ok: true, reply: { code: 250, status: '2.0.0', text: `Ok: delivered as ${queueId}` }, copies: stored.copies });
  }
  return { queueId, recipients };
}
