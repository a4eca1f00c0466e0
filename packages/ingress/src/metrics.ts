import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface IngressMetrics {
  registry: Registry;
  connections: Counter<'protocol'>;
  refusedConnections: Counter<'protocol' | 'reason'>;
  activeConnections: Gauge<'protocol'>;
  recipients: Counter<'protocol' | 'result'>;
  messages: Counter<'protocol' | 'result'>;
  storedCopies: Counter<'protocol'>;
  storedBytes: Counter<'protocol'>;
  quotaWarnings: Counter<'result'>;
  deliveryLogLost: Counter;
  deliverySeconds: Histogram<'protocol'>;
  errorDelaySeconds: Counter<'protocol'>;
  senderAuth: Counter<'method' | 'result'>;
  greylist: Counter<'result'>;
  authorBlocks: Counter<'list'>;
  authorLookups: Counter<'result'>;
  dnsCache: Counter<'result'>;
  batchRequests: Histogram;
  batchSeconds: Histogram;
}

/** Ingress metrics in their own registry (so several ingress instances can live in one process, e.g. tests). */
export function createIngressMetrics(): IngressMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry }); // standard process_/nodejs_ names, like every service
  const registers = [registry];
  return {
    registry,
    connections: new Counter({
      name: 'mailroom_ingress_connections_total',
      help: 'Accepted connections',
      labelNames: ['protocol'],
      registers,
    }),
    refusedConnections: new Counter({
      name: 'mailroom_ingress_connections_refused_total',
      help: 'Connections refused by a limit',
      labelNames: ['protocol', 'reason'],
      registers,
    }),
    activeConnections: new Gauge({
      name: 'mailroom_ingress_active_connections',
      help: 'Open sessions',
      labelNames: ['protocol'],
      registers,
    }),
    recipients: new Counter({
      name: 'mailroom_ingress_recipients_total',
      help: 'RCPT outcomes by reply (e.g. 250, 550_5.1.1)',
      labelNames: ['protocol', 'result'],
      registers,
    }),
    messages: new Counter({
      name: 'mailroom_ingress_messages_total',
      help: 'DATA outcomes by reply',
      labelNames: ['protocol', 'result'],
      registers,
    }),
    storedCopies: new Counter({
      name: 'mailroom_ingress_stored_copies_total',
      help: 'Message copies committed to mailboxes',
      labelNames: ['protocol'],
      registers,
    }),
    storedBytes: new Counter({
      name: 'mailroom_ingress_stored_bytes_total',
      help: 'Octets committed to mailboxes (with trace fields)',
      labelNames: ['protocol'],
      registers,
    }),
    quotaWarnings: new Counter({
      name: 'mailroom_ingress_quota_warnings_total',
      help: 'Quota warnings delivered into mailboxes (or failed)',
      labelNames: ['result'],
      registers,
    }),
    deliveryLogLost: new Counter({
      name: 'mailroom_ingress_delivery_log_lost_total',
      help: 'Refusal entries of the delivery log dropped or not written',
      registers,
    }),
    errorDelaySeconds: new Counter({
      name: 'mailroom_ingress_error_delay_seconds_total',
      help: 'Delay added to replies after refused recipients past INGRESS_SOFT_ERROR_LIMIT',
      labelNames: ['protocol'],
      registers,
    }),
    senderAuth: new Counter({
      name: 'mailroom_ingress_sender_auth_total',
      help: 'SMTP sender checks by method (spf, dkim, dmarc, arc, sender_domain, arc_override) and result (as in Authentication-Results)',
      labelNames: ['method', 'result'],
      registers,
    }),
    greylist: new Counter({
      name: 'mailroom_ingress_greylist_total',
      help: 'Greylisting of SMTP recipients by result: deferred, passed, known, whitelisted, spf_pass, sender_allowed, error (let through)',
      labelNames: ['result'],
      registers,
    }),
    authorBlocks: new Counter({
      name: 'mailroom_ingress_author_blocked_total',
      help: 'SMTP recipients and alias mailboxes refused at DATA: a sender rule of that list (domain, mailbox) blocks the From author',
      labelNames: ['list'],
      registers,
    }),
    authorLookups: new Counter({
      name: 'mailroom_ingress_author_lookups_total',
      help: 'SMTP messages whose From author is not MAIL FROM: queried (a recipient’s list may block it) or skipped (none holds a block rule)',
      labelNames: ['result'],
      registers,
    }),
    dnsCache: new Counter({
      name: 'mailroom_ingress_dns_cache_total',
      help: 'DNS questions of the sender checks: hit (answered from the cache or joined one in flight), miss (asked)',
      labelNames: ['result'],
      registers,
    }),
    deliverySeconds: new Histogram({
      name: 'mailroom_ingress_store_seconds',
      help: 'Time to store one message for one recipient (transaction)',
      labelNames: ['protocol'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
    batchRequests: new Histogram({
      name: 'mailroom_ingress_commit_batch_requests',
      help: 'Deliveries stored per group-commit transaction',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'mailroom_ingress_commit_batch_seconds',
      help: 'Duration of one group-commit transaction, BEGIN to durable COMMIT',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
  };
}
