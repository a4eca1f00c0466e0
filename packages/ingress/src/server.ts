import type { AddressInfo } from 'node:net';
import { networkKey, senderRuleCandidates } from '@mailroom/core';
import { pgPoolOf, type PrismaClient } from '@mailroom/db';
import { createOpsServer, type Logger, type OpsServer } from '@mailroom/runtime';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import { screenAuthors, type BlockedAuthors } from './author-rules.ts';
import { DEFAULT_INGRESS_CONFIG, type IngressConfig } from './config.ts';
import { DeliveryService, replyForError, type DeliveryTarget, type RecipientResolution } from './delivery.ts';
import { Dnsbl, dnsblRefusal } from './dnsbl.ts';
import { Greylist } from './greylist.ts';
import { DeliveryLogWriter, type DeliveryLogContext, type RefusalEntry } from './delivery-log.ts';
import { ConnectionCounter, RateLimiter } from './limits.ts';
import { authorAddresses, messageIdHeader, newQueueId } from './message.ts';
import { collectMessage, MEMORY_COST_PER_OCTET, MemoryBudget } from './message-collector.ts';
import { createIngressMetrics, type IngressMetrics } from './metrics.ts';
import { REPLIES, replyText, resultLabel, SmtpReplyError, type SmtpReply } from './replies.ts';
import { removeForgedAuthResults, SenderAuth, type SenderAuthVerdict } from './sender-auth.ts';
import { IngressSmtpServer } from './smtp-adapter.ts';

export interface IngressDeps {
  prisma: PrismaClient;
  logger: Logger;
  /** Merged over {@link DEFAULT_INGRESS_CONFIG}; tests pass port 0. */
  config?: Partial<IngressConfig>;
  /** Certificate for SMTP STARTTLS (from loadTlsMaterial); without it STARTTLS is not offered. */
  tls?: { cert: Buffer; key: Buffer };
}

export interface IngressPorts {
  lmtp: number;
  smtp: number | null;
  metrics: number | null;
}

export interface Ingress {
  readonly config: IngressConfig;
  readonly delivery: DeliveryService;
  /** Writes refusal and deferral entries of the delivery log (null with DELIVERY_LOG=off). */
  readonly deliveryLog: DeliveryLogWriter | null;
  readonly metrics: IngressMetrics;
  readonly lmtp: IngressSmtpServer;
  readonly smtp: IngressSmtpServer | null;
  /** Bound ports once listen() resolved. */
  readonly ports: IngressPorts | undefined;
  /** Open sessions over both listeners. */
  sessionCount(): number;
  /** Where each listener is bound once listen() resolved (LMTP_HOST, MAILROOM_HOST, METRICS_HOST). */
  addresses(): { lmtp: AddressInfo | null; smtp: AddressInfo | null; metrics: AddressInfo | null };
  /** Octets of message data held in memory right now (bounded by maxBufferedBytes). */
  bufferedBytes(): number;
  listen(): Promise<IngressPorts>;
  /** Stops accepting, lets open sessions finish (up to closeTimeoutMs), closes the HTTP endpoint. */
  close(): Promise<void>;
}

type Protocol = 'lmtp' | 'smtp';

interface TransactionState {
  queueId: string;
  /** MAIL FROM ('' for the null reverse-path). */
  envelopeFrom: string;
  declaredSize: number;
  /** Resolved RCPT TO addresses, keyed by the address as given. */
  recipients: Map<string, Extract<RecipientResolution, { ok: true }>>;
  /** The patterns of sender rules that name MAIL FROM, most specific first (SMTP only; none on LMTP). */
  senderPatterns: string[];
  /** Whether the envelope passes SPF, once greylisting has asked (every greylisted RCPT of the transaction shares it). */
  spfPass?: Promise<boolean>;
}

interface SessionState {
  protocol: Protocol;
  ip: string;
  /** The client's network for per-address limits (INGRESS_IPV4_PREFIX / INGRESS_IPV6_PREFIX). */
  client: string;
  log: Logger;
  countedIp: boolean;
  /** Recipients refused so far in this connection (SMTP error limits). */
  refusedRecipients: number;
  tx: TransactionState | null;
}

/** RFC 3848 protocol of a session as in its Received field: LMTP, SMTP, ESMTP, ESMTPS, ... */
function protocolOf(session: SMTPServerSession, protocol: Protocol): string {
  return session.transmissionType || (protocol === 'lmtp' ? 'LMTP' : 'ESMTP');
}

/**
 * Builds the LMTP listener (for the MTA in front) and the SMTP MX listener, unstarted. Recipient policy and storage
 * live in {@link DeliveryService}; this file maps them onto the protocol and enforces connection limits.
 */
export function createIngress(deps: IngressDeps): Ingress {
  const config: IngressConfig = { ...DEFAULT_INGRESS_CONFIG, ...deps.config };
  const logger = deps.logger;
  const metrics = createIngressMetrics();
  const delivery = new DeliveryService(deps.prisma, {
    quotaReply: config.quotaReply,
    hostname: config.hostname,
    postmasterAddress: config.postmasterAddress,
    recipientDelimiter: config.recipientDelimiter,
    deliveryLog: config.deliveryLog,
    preparedStatements: config.preparedStatements,
    quotaWarningThresholds: config.quotaWarningThresholds,
    onQuotaWarnings: (warnings) => {
      for (const w of warnings) {
        metrics.quotaWarnings.inc({ result: w.failed ? 'failed' : 'delivered' });
        if (w.failed) logger.warn({ err: w.failed, mailbox: w.address, percent: w.percent }, 'quota warning could not be stored');
        else
          logger.info(
            { mailbox: w.address, percent: w.percent, used: Number(w.usedBytes), quota: Number(w.quotaBytes) },
            'quota warning delivered',
          );
      }
    },
    onBatch: (b) => {
      metrics.batchRequests.observe(b.requests);
      metrics.batchSeconds.observe(b.seconds);
      if (b.outcome === 'failed')
        logger.warn({ requests: b.requests, err: b.error }, 'group commit failed; retrying its deliveries one by one');
    },
    onError: (err) => logger.error({ err }, 'group commit: an observer failed after the commit'),
  });
  const pool = pgPoolOf(deps.prisma);
  const deliveryLog =
    config.deliveryLog && pool ? new DeliveryLogWriter(pool, { logger, onLost: (n) => metrics.deliveryLogLost.inc(n) }) : null;
  const logRefusal = (entry: RefusalEntry) => deliveryLog?.record(entry);
  const perIp = new ConnectionCounter(config.maxConnectionsPerIp);
  const rate = new RateLimiter(config.maxMessagesPerIpPerMinute);
  const connectRate = new RateLimiter(config.maxConnectionsPerIpPerMinute);
  const sessions = new Map<string, SessionState>();
  /** SMTP connections whose DNSBL lookup is still running (onClose may come first). */
  const connecting = new Map<string, { closed: boolean }>();
  const senderAuth = config.senderAuth
    ? new SenderAuth(config.senderAuth, config.hostname, (result) => metrics.dnsCache.inc({ result }))
    : null;
  const dnsbl = config.dnsbl
    ? new Dnsbl(config.dnsbl, (zone, problem) => logger.warn({ zone, problem }, 'DNSBL lookup failed; the client is not blocked'))
    : null;
  const greylist = config.greylist && pool ? new Greylist(pool, config.greylist) : null;
  if (config.greylist && !pool) logger.warn('greylisting is configured but the database client has no pg pool: nothing is greylisted');
  if (config.greylist?.skipSpfPass && !senderAuth)
    logger.warn('INGRESS_GREYLIST_SKIP_SPF_PASS needs INGRESS_SENDER_AUTH: senders that pass SPF are greylisted too');
  let greylistPruning: NodeJS.Timeout | undefined;
  const pruneGreylist = () => {
    greylist
      ?.prune()
      .then((n) => n && logger.info({ pruned: n }, 'greylist: stale triplets deleted'))
      .catch((err: unknown) => logger.warn({ err }, 'greylist: pruning failed; it is retried in an hour'));
  };
  // one message of the largest size always fits, or nothing could ever be delivered
  const memory = new MemoryBudget(Math.max(config.maxBufferedBytes, config.maxMessageBytes * MEMORY_COST_PER_OCTET));
  let ports: IngressPorts | undefined;
  const ops: OpsServer | null =
    config.metricsPort === null
      ? null
      : createOpsServer({
          host: config.metricsHost,
          port: config.metricsPort,
          ready: async () => {
            await deps.prisma.$queryRaw`SELECT 1`;
            return !!ports && !closing;
          },
          metrics: metrics.registry,
        });
  let closing = false;
  let closeProxyWaiting = (): void => undefined;

  const build = (protocol: Protocol): IngressSmtpServer => {
    const lmtp = protocol === 'lmtp';
    const options: SMTPServerOptions = {
      lmtp,
      name: config.hostname,
      banner: 'Mailroom',
      logger: false,
      disableReverseLookup: true,
      authOptional: true,
      disabledCommands: lmtp || !deps.tls ? ['AUTH', 'STARTTLS'] : ['AUTH'],
      hideSTARTTLS: lmtp || !deps.tls,
      hideENHANCEDSTATUSCODES: false,
      hideDSN: true,
      size: config.maxMessageBytes,
      maxClients: config.maxConnections,
      maxRecipients: config.maxRecipients,
      maxCommandLength: config.maxCommandOctets,
      socketTimeout: config.socketTimeoutMs,
      closeTimeout: config.closeTimeoutMs,
      ...(deps.tls && !lmtp ? { key: deps.tls.key, cert: deps.tls.cert } : {}),
      onConnect: (session, cb) => onConnect(protocol, session, cb),
      onMailFrom: (address, session, cb) => onMailFrom(address, session, cb),
      onRcptTo: (address, session, cb) => onRcptTo(address, session, cb),
      onData: (stream, session, cb) => onData(server, stream, session, cb),
      onClose: (session) => onClose(server, session),
    } as SMTPServerOptions;
    const server = new IngressSmtpServer(options);
    // SMTP only: LMTP's client is the operator's own MTA
    if (!lmtp && config.proxyTrusted && !config.proxyTrusted.none) {
      const trusted = config.proxyTrusted;
      const onRefused = () => metrics.refusedConnections.inc({ protocol, reason: 'proxy_header' });
      closeProxyWaiting = server.acceptProxyProtocol({ trusted, timeoutMs: config.proxyHeaderTimeoutMs, logger, onRefused });
    }
    server.on('error', (err: Error & { code?: string }) => {
      // socket-level errors of one client (resets, TLS failures) must never take the process down
      logger.debug({ err: { message: err.message, code: err.code }, protocol }, 'connection error');
    });
    return server;
  };

  const state = (session: SMTPServerSession): SessionState | undefined => sessions.get(session.id);

  function onConnect(protocol: Protocol, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const ip = session.remoteAddress;
    const client = networkKey(ip, { ipv4Prefix: config.ipv4Prefix, ipv6Prefix: config.ipv6Prefix });
    const log = logger.child({ sid: session.id, proto: protocol, ip });
    if (closing) return cb(new SmtpReplyError({ code: 421, status: '4.3.2', text: 'Service shutting down' }));
    let countedIp = false;
    if (protocol === 'smtp') {
      if (!connectRate.take(client)) {
        metrics.refusedConnections.inc({ protocol, reason: 'per_ip_rate' });
        log.info({ limit: config.maxConnectionsPerIpPerMinute }, 'connection refused: connection rate from address');
        return cb(new SmtpReplyError(REPLIES.tooManyConnections));
      }
      if (!perIp.acquire(client)) {
        metrics.refusedConnections.inc({ protocol, reason: 'per_ip' });
        log.info({ limit: config.maxConnectionsPerIp }, 'connection refused: too many connections from address');
        return cb(new SmtpReplyError(REPLIES.tooManyConnections));
      }
      countedIp = true;
    }
    const accept = () => {
      sessions.set(session.id, { protocol, ip, client, log, countedIp, refusedRecipients: 0, tx: null });
      metrics.connections.inc({ protocol });
      metrics.activeConnections.inc({ protocol });
      log.debug('connection');
      cb();
    };
    if (protocol !== 'smtp' || !dnsbl?.applies(ip)) return accept();
    // looked up after the rate and connection limits, so a flood of connections is not a flood of DNS queries
    const pending = { closed: false };
    connecting.set(session.id, pending);
    dnsbl
      .lookup(ip)
      .then((listing) => {
        connecting.delete(session.id);
        // the client hung up while we looked: nothing is left to answer, only its connection slot to give back
        if (pending.closed) {
          if (countedIp) perIp.release(client);
          return;
        }
        if (!listing) return accept();
        if (countedIp) perIp.release(client);
        metrics.refusedConnections.inc({ protocol, reason: 'dnsbl' });
        log.info({ zone: listing.zone, answer: listing.answer }, 'connection refused: client listed in a DNSBL');
        cb(new SmtpReplyError(dnsblRefusal(ip, listing)));
      })
      .catch((err: unknown) => {
        // a bug, not a listing: fail open, as for a blocklist that does not answer
        log.error({ err }, 'DNSBL handling failed');
        connecting.delete(session.id);
        if (!pending.closed && !sessions.has(session.id)) accept();
      });
  }

  function onClose(server: IngressSmtpServer, session: SMTPServerSession): void {
    server.forget(session.id);
    const pending = connecting.get(session.id);
    if (pending) pending.closed = true;
    const s = sessions.get(session.id);
    if (!s) return;
    sessions.delete(session.id);
    if (s.countedIp) perIp.release(s.client);
    metrics.activeConnections.dec({ protocol: s.protocol });
    s.log.debug('closed');
  }

  function onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const s = state(session);
    if (!s) return cb(new SmtpReplyError(REPLIES.temporaryFailure));
    if (s.protocol === 'smtp' && !rate.take(s.client)) {
      s.log.info({ limit: config.maxMessagesPerIpPerMinute }, 'MAIL refused: message rate limit');
      return cb(new SmtpReplyError(REPLIES.rateLimited));
    }
    const declared = Number(address.args && typeof address.args === 'object' ? (address.args as Record<string, unknown>).SIZE : 0) || 0;
    const start = () => {
      const envelopeFrom = address.address ?? '';
      // owners' sender rules are for mail from the internet: the MTA in front of LMTP applies its own policy
      const senderPatterns = s.protocol === 'smtp' ? senderRuleCandidates(envelopeFrom) : [];
      s.tx = { queueId: newQueueId(), envelopeFrom, declaredSize: declared, recipients: new Map(), senderPatterns };
      s.log.debug({ qid: s.tx.queueId, from: address.address }, 'MAIL FROM');
      cb();
    };
    if (s.protocol !== 'smtp' || !senderAuth?.checksSenderDomain() || !senderAuth.applies(s.ip) || !address.address) return start();
    senderAuth
      .senderDomain(address.address)
      .then(({ kind, reply }) => {
        metrics.senderAuth.inc({ method: 'sender_domain', result: kind });
        if (!reply) return start();
        s.log.info(
          { from: address.address, reply: `${reply.code} ${reply.status}` },
          `MAIL refused: sender domain ${kind === 'null_mx' ? 'has a null MX' : 'not found'}`,
        );
        cb(new SmtpReplyError(reply));
      })
      .catch((err: unknown) => {
        s.log.error({ err }, 'sender domain check failed');
        start();
      });
  }

  /**
   * Answers a refused recipient under the SMTP error limits (Postfix's smtpd_soft_error_limit, smtpd_error_sleep_time,
   * smtpd_hard_error_limit), so one connection cannot harvest addresses: past the soft limit the n-th further refusal
   * waits n × errorSleepMs, and the refusal that reaches the hard limit gets 421 4.7.0 and closes the connection.
   * LMTP is exempt: its client is the operator's MTA, which may legitimately hand over many unknown recipients.
   */
  function refuseRecipient(s: SessionState, reply: SmtpReply, cb: (err?: Error | null) => void, log: (sent: SmtpReply) => void): void {
    if (s.protocol !== 'smtp') {
      log(reply);
      return cb(new SmtpReplyError(reply));
    }
    const n = ++s.refusedRecipients;
    if (config.hardErrorLimit > 0 && n >= config.hardErrorLimit) {
      metrics.refusedConnections.inc({ protocol: s.protocol, reason: 'hard_error_limit' });
      s.log.info({ refused: n, limit: config.hardErrorLimit }, 'connection closed: too many refused recipients');
      log(REPLIES.tooManyErrors);
      return cb(new SmtpReplyError(REPLIES.tooManyErrors));
    }
    log(reply);
    const delayMs = n > config.softErrorLimit ? (n - config.softErrorLimit) * config.errorSleepMs : 0;
    if (!delayMs) return cb(new SmtpReplyError(reply));
    metrics.errorDelaySeconds.inc({ protocol: s.protocol }, delayMs / 1000);
    setTimeout(() => cb(new SmtpReplyError(reply)), delayMs);
  }

  function onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const s = state(session);
    if (!s?.tx) return cb(new SmtpReplyError(REPLIES.temporaryFailure));
    const tx = s.tx;
    const context: DeliveryLogContext = {
      envelopeFrom: tx.envelopeFrom,
      queueId: tx.queueId,
      clientAddress: s.ip,
      protocol: protocolOf(session, s.protocol),
    };
    delivery
      .resolveRecipient(address.address, tx.declaredSize, tx.senderPatterns)
      .then(
        (r) => {
          if (!r.ok) {
            metrics.recipients.inc({ protocol: s.protocol, result: resultLabel(r.reply) });
            s.log.info(
              { qid: tx.queueId, rcpt: address.address, reply: `${r.reply.code} ${r.reply.status}`, reason: r.reason },
              'recipient refused',
            );
            const ids = { domainId: r.domainId, mailboxId: r.mailboxId };
            return refuseRecipient(s, r.reply, cb, (sent) =>
              logRefusal({ ...context, ...ids, recipient: address.address, reply: sent, reason: r.reason }),
            );
          }
          const accept = () => {
            metrics.recipients.inc({ protocol: s.protocol, result: '250' });
            tx.recipients.set(address.address, r);
            // what each left-out mailbox's user would see: this sender refused for them, by their own rule
            for (const m of r.leftOut ?? []) {
              const reason = `sender blocked by the mailbox (left out of ${r.kind} ${address.address})`;
              logRefusal({
                ...context,
                domainId: m.domainId,
                mailboxId: m.mailboxId,
                recipient: m.address,
                reply: REPLIES.senderBlocked,
                reason,
              });
            }
            cb();
          };
          // only a recipient that exists is greylisted: an unknown one is refused for good at once
          if (s.protocol !== 'smtp' || !greylist?.applies(s.ip, r.greylisting)) return accept();
          if (r.senderAllowed) {
            metrics.greylist.inc({ result: 'sender_allowed' });
            return accept();
          }
          const spfPass =
            greylist.skipsSpfPass && senderAuth
              ? (tx.spfPass ??= senderAuth.spfPasses({ ip: s.ip, helo: session.hostNameAppearsAs || '', envelopeFrom: tx.envelopeFrom }))
              : Promise.resolve(false);
          spfPass
            .then((pass) => (pass ? ({ pass: true, why: 'spf_pass' } as const) : greylist.check(s.ip, tx.envelopeFrom, address.address)))
            .then(
              (v) => {
                metrics.greylist.inc({ result: v.pass ? v.why : 'deferred' });
                if (v.pass) return accept();
                metrics.recipients.inc({ protocol: s.protocol, result: resultLabel(v.reply) });
                s.log.info({ qid: tx.queueId, rcpt: address.address, retryIn: v.retryInSeconds }, 'recipient greylisted');
                const target = r.targets[0];
                const ids = { domainId: target?.domainId, mailboxId: r.kind === 'mailbox' ? target?.mailboxId : undefined };
                logRefusal({ ...context, ...ids, recipient: address.address, reply: v.reply, reason: 'greylisted' });
                cb(new SmtpReplyError(v.reply));
              },
              (err: unknown) => {
                // the database is what delivery needs anyway; a greylisting fault alone lets the mail through
                metrics.greylist.inc({ result: 'error' });
                s.log.warn({ qid: tx.queueId, err }, 'greylisting failed; the recipient is accepted');
                accept();
              },
            );
        },
        (err: unknown) => {
          const { reply, reason } = replyForError(err);
          metrics.recipients.inc({ protocol: s.protocol, result: resultLabel(reply) });
          s.log.error({ qid: tx.queueId, err, reason }, 'recipient lookup failed');
          logRefusal({ ...context, recipient: address.address, reply, reason });
          cb(new SmtpReplyError(reply));
        },
      )
      .catch((err: unknown) => s.log.error({ err }, 'RCPT handling failed'));
  }

  /**
   * SPF/DKIM/DMARC/ARC of one SMTP message. A failure of the checks themselves (not of the sender) costs the message
   * nothing: it is delivered with `Authentication-Results: <host>; none`, so no earlier field can pass for ours.
   */
  async function checkSender(
    auth: SenderAuth,
    body: Buffer,
    session: SMTPServerSession,
    envelopeFrom: string,
    log: Logger,
  ): Promise<SenderAuthVerdict> {
    try {
      const verdict = await auth.check({ body, ip: session.remoteAddress, helo: session.hostNameAppearsAs || '', envelopeFrom });
      for (const [method, result] of Object.entries(verdict.results)) metrics.senderAuth.inc({ method, result });
      log.debug({ author: verdict.fromDomain, ...verdict.results }, 'sender checked');
      if (verdict.arcOverride) {
        metrics.senderAuth.inc({ method: 'arc_override', result: 'pass' });
        log.info({ author: verdict.fromDomain, sealer: verdict.arcOverride }, "DMARC failure accepted on a trusted ARC sealer's word");
      }
      return verdict;
    } catch (err) {
      log.warn({ err }, 'sender checks failed; delivering without their results');
      const results = { spf: 'none', dkim: 'none', dmarc: 'none', arc: 'none' };
      for (const method of Object.keys(results)) metrics.senderAuth.inc({ method, result: 'error' });
      return { fields: `Authentication-Results: ${config.hostname}; none\r\n`, results, fromDomain: null, refuse: null, reason: null };
    }
  }

  /**
   * An SMTP transaction's recipients and their mailboxes once the sender rules have seen the message's authors (see
   * screenAuthors); each refusal goes to the delivery log. A fault of the lookup itself lets the message through to
   * every recipient, as a greylisting fault does: the rules are the owners' filter, not a reason to lose mail.
   */
  async function screenSmtpAuthors(tx: TransactionState, authors: string[], context: DeliveryLogContext, log: Logger) {
    const recipients = [...tx.recipients.entries()];
    const lookup: BlockedAuthors = (a, d, m) => delivery.blockedAuthors(a, d, m);
    try {
      const screened = await screenAuthors(recipients, authors, tx.senderPatterns, lookup);
      if (screened.lookup !== 'none') metrics.authorLookups.inc({ result: screened.lookup });
      for (const { recipient, list, domainId, mailboxId, reason } of screened.refused) {
        metrics.authorBlocks.inc({ list });
        log.info({ rcpt: recipient, authors, reason }, 'recipient refused at DATA: author blocked');
        logRefusal({ ...context, domainId, mailboxId, recipient, reply: REPLIES.senderBlocked, reason });
      }
      return screened;
    } catch (err) {
      log.error({ err }, 'author sender rules failed; delivering to every recipient');
      return screenAuthors(recipients, [], [], lookup);
    }
  }

  function onData(
    server: IngressSmtpServer,
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    cb: (err?: Error | null, message?: string | (string | Error)[]) => void,
  ): void {
    const s = state(session);
    const tx = s?.tx;
    if (!s || !tx) {
      stream.resume();
      return cb(new SmtpReplyError(REPLIES.temporaryFailure));
    }
    const log = s.log.child({ qid: tx.queueId });
    const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const protocolLabel = protocolOf(session, s.protocol);
    const context: DeliveryLogContext = { envelopeFrom, queueId: tx.queueId, clientAddress: s.ip, protocol: protocolLabel };
    /** A refusal or deferral of recipients at DATA time (targets: where they resolved to, for the owner's view). */
    const logRefused = (rcpts: string[], reply: SmtpReply, reason: string | undefined, extra: Partial<RefusalEntry> = {}) => {
      for (const rcpt of rcpts) {
        const target = tx.recipients.get(rcpt)?.targets[0];
        logRefusal({ ...context, domainId: target?.domainId, recipient: rcpt, reply, reason, ...extra });
      }
    };
    const collecting = collectMessage(stream, config.maxMessageBytes, config.maxHeaderBytes, memory);
    collecting.done
      .then(
        async ({ body, bytes, tooBig, headerTooBig }) => {
          if (!body) {
            const reply = tooBig ? REPLIES.tooBig : headerTooBig ? REPLIES.headerTooBig : REPLIES.busy;
            metrics.messages.inc({ protocol: s.protocol, result: resultLabel(reply) });
            const why = tooBig
              ? 'message refused: too big'
              : headerTooBig
                ? 'message refused: header too big'
                : 'message refused: message memory budget exhausted';
            log.info(
              { bytes, limit: tooBig ? config.maxMessageBytes : headerTooBig ? config.maxHeaderBytes : config.maxBufferedBytes },
              why,
            );
            logRefused(
              session.envelope.rcptTo.map((r) => r.address),
              reply,
              why.replace(/^message refused: /, ''),
              { sizeOctets: bytes },
            );
            return cb(new SmtpReplyError(reply));
          }
          // the author: judged by the sender rules (SMTP) and named beside MAIL FROM in the delivery log
          const logging = Boolean(delivery.deliveryLog || deliveryLog);
          const authors = s.protocol === 'smtp' || logging ? authorAddresses(body, config.maxHeaderBytes) : [];
          if (logging) context.headerFrom = authors[0] ?? null;
          let message = body;
          let authResults: string | undefined;
          if (s.protocol === 'smtp' && senderAuth?.applies(s.ip)) {
            const checked = await checkSender(senderAuth, body, session, envelopeFrom, log);
            if (checked.refuse) {
              metrics.messages.inc({ protocol: s.protocol, result: resultLabel(checked.refuse) });
              log.info({ from: envelopeFrom, author: checked.fromDomain, ...checked.results }, `message refused: ${checked.reason}`);
              logRefused(
                session.envelope.rcptTo.map((r) => r.address),
                checked.refuse,
                checked.reason ?? undefined,
                { sizeOctets: bytes },
              );
              return cb(new SmtpReplyError(checked.refuse));
            }
            authResults = checked.fields;
            message = removeForgedAuthResults(body, config.hostname);
          }
          const messageId = logging ? messageIdHeader(message) : null;
          const base = {
            body: message,
            authResults,
            envelopeFrom,
            queueId: tx.queueId,
            helo: session.hostNameAppearsAs || '',
            remoteAddress: session.remoteAddress,
            protocol: protocolLabel,
            messageId,
            headerFrom: context.headerFrom ?? null,
          };
          /** Stores for `rcptTo` (the first of `rcpts`, every recipient the reply answers). */
          const storeFor = async (targets: (DeliveryTarget & { rcptTo?: string })[], rcpts: string[]): Promise<SmtpReply> => {
            const started = process.hrtime.bigint();
            const rcptTo = rcpts[0] ?? '';
            const logData = { sizeOctets: bytes, messageId };
            try {
              const res = await delivery.store({ ...base, targets, rcptTo });
              metrics.deliverySeconds.observe({ protocol: s.protocol }, Number(process.hrtime.bigint() - started) / 1e9);
              if (!res.ok) {
                log.info({ rcpt: rcptTo, reply: `${res.reply.code} ${res.reply.status}`, reason: res.reason }, 'delivery refused');
                logRefused(rcpts, res.reply, res.reason, { ...logData, ...(res.mailboxId ? { mailboxId: res.mailboxId } : {}) });
                return res.reply;
              }
              for (const c of res.copies) {
                metrics.storedCopies.inc({ protocol: s.protocol });
                metrics.storedBytes.inc({ protocol: s.protocol }, c.sizeOctets);
              }
              log.info(
                { from: envelopeFrom, rcpt: rcptTo, size: bytes, copies: res.copies.map((c) => ({ to: c.address, uid: c.uid })) },
                'delivered',
              );
              return { code: 250, status: '2.0.0', text: `Ok: delivered as ${tx.queueId}` };
            } catch (err) {
              const { reply, reason } = replyForError(err);
              log.error({ err, rcpt: rcptTo, reason }, 'delivery failed');
              logRefused(rcpts, reply, reason, logData);
              return reply;
            }
          };

          if (s.protocol === 'smtp') {
            const screened = await screenSmtpAuthors(tx, authors, context, log);
            if (!screened.targets.length) {
              metrics.messages.inc({ protocol: s.protocol, result: resultLabel(REPLIES.senderBlocked) });
              log.info('message refused: its author is blocked for every recipient');
              return cb(new SmtpReplyError(REPLIES.senderBlocked));
            }
            // One reply for the transaction: every mailbox of every recipient in one transaction, so the reply is exact.
            const reply = await storeFor(screened.targets, screened.rcpts);
            metrics.messages.inc({ protocol: s.protocol, result: resultLabel(reply) });
            if (reply.code >= 400) return cb(new SmtpReplyError(reply));
            return cb(null, replyText({ ...reply, text: `Ok: queued as ${tx.queueId}` }));
          }

          // LMTP (RFC 2033): one reply per accepted recipient, sent as soon as that recipient's copy is committed.
          const conn = server.handle(session.id);
          const done = new Set<string>();
          const replies: (string | Error)[] = [];
          for (const rcpt of session.envelope.rcptTo) {
            const r = tx.recipients.get(rcpt.address);
            const targets = (r?.targets ?? []).filter((t) => !done.has(t.mailboxId));
            const reply = r ? await storeFor(targets, [rcpt.address]) : REPLIES.temporaryFailure;
            if (reply.code < 400) for (const t of targets) done.add(t.mailboxId);
            metrics.messages.inc({ protocol: s.protocol, result: resultLabel(reply) });
            const text = `${replyText(reply)} <${rcpt.address}>`;
            if (conn) conn.send(reply.code, text);
            else replies.push(reply.code >= 400 ? new SmtpReplyError(reply, `${reply.text} <${rcpt.address}>`) : text);
          }
          cb(null, replies);
        },
        (err: Error) => {
          // the client went away mid-DATA: nothing was stored
          log.info({ err: err.message }, 'DATA aborted by client; nothing stored');
          cb(err);
        },
      )
      .catch((err: unknown) => {
        // a bug past this point must cost one message a temporary failure, never the process
        log.error({ err }, 'DATA handling failed');
        cb(new SmtpReplyError(REPLIES.temporaryFailure));
      })
      .finally(() => memory.release(collecting.held()));
  }

  const lmtp = build('lmtp');
  const smtp = config.smtpEnabled ? build('smtp') : null;

  return {
    config,
    delivery,
    deliveryLog,
    metrics,
    lmtp,
    smtp,
    get ports() {
      return ports;
    },
    sessionCount: () => sessions.size,
    addresses: () => ({
      lmtp: lmtp.boundAddress(),
      smtp: smtp?.boundAddress() ?? null,
      metrics: ops?.address() ?? null,
    }),
    bufferedBytes: () => memory.used,
    async listen() {
      const lmtpPort = await lmtp.listenOn(config.lmtpPort, config.lmtpHost);
      const smtpPort = smtp ? await smtp.listenOn(config.smtpPort, config.host) : null;
      const metricsPort = ops ? await ops.listen() : null;
      ports = { lmtp: lmtpPort, smtp: smtpPort, metrics: metricsPort };
      if (greylist && !greylistPruning) {
        pruneGreylist();
        greylistPruning = setInterval(pruneGreylist, 3_600_000).unref();
      }
      return ports;
    },
    async close() {
      closing = true;
      clearInterval(greylistPruning);
      closeProxyWaiting();
      await Promise.all([lmtp.shutdown(), smtp?.shutdown()]);
      delivery.close();
      await deliveryLog?.flush();
      await ops?.close();
    },
  };
}
