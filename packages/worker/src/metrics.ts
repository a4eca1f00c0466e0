import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface WorkerMetrics {
  registry: Registry;
  jobs: Counter<'job' | 'result'>;
  jobSeconds: Histogram<'job'>;
  lastSuccess: Gauge<'job'>;
  domainsChecked: Counter<'mx_status'>;
  domainsFlagged: Gauge;
  mtaStsFlagged: Gauge;
  claimsPruned: Counter;
  messagesExpired: Counter;
  webhookAttempts: Counter<'result'>;
  webhookEndpointsDisabled: Counter;
  deliveryLogPruned: Counter;
  signInLogPruned: Counter;
}

/** Worker metrics in their own registry (several workers can live in one process, e.g. tests). */
export function createWorkerMetrics(): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry }); // standard process_/nodejs_ names, like every service
  const registers = [registry];
  return {
    registry,
    jobs: new Counter({
      name: 'mailroom_worker_jobs_total',
      help: 'Job runs by job and result (completed, failed)',
      labelNames: ['job', 'result'],
      registers,
    }),
    jobSeconds: new Histogram({
      name: 'mailroom_worker_job_seconds',
      help: 'Duration of one job run',
      labelNames: ['job'],
      buckets: [0.01, 0.05, 0.25, 1, 5, 30, 120, 600, 1800],
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'mailroom_worker_job_last_success_timestamp_seconds',
      help: 'End of the last successful run (alert when stale)',
      labelNames: ['job'],
      registers,
    }),
    domainsChecked: new Counter({
      name: 'mailroom_worker_domains_checked_total',
      help: 'MX re-checks by result (ok, missing, different; unavailable = the resolver failed)',
      labelNames: ['mx_status'],
      registers,
    }),
    domainsFlagged: new Gauge({
      name: 'mailroom_worker_domains_mx_flagged',
      help: 'Active domains whose MX is missing or points elsewhere (after the last re-check)',
      registers,
    }),
    mtaStsFlagged: new Gauge({
      name: 'mailroom_worker_domains_mta_sts_flagged',
      help: 'Domains with an MTA-STS mode whose _mta-sts record is missing or names another policy id (after the last re-check)',
      registers,
    }),
    claimsPruned: new Counter({ name: 'mailroom_worker_claims_pruned_total', help: 'Expired pending domain claims deleted', registers }),
    messagesExpired: new Counter({
      name: 'mailroom_worker_messages_expired_total',
      help: 'Messages deleted past their POP3 retention (EXPIRE n)',
      registers,
    }),
    webhookAttempts: new Counter({
      name: 'mailroom_worker_webhook_attempts_total',
      help: 'Webhook delivery attempts by result (delivered = 2xx; failed = other status, timeout, connection error; refused = internal address)',
      labelNames: ['result'],
      registers,
    }),
    webhookEndpointsDisabled: new Counter({
      name: 'mailroom_worker_webhook_endpoints_disabled_total',
      help: 'Webhook endpoints disabled after sustained failure',
      registers,
    }),
    deliveryLogPruned: new Counter({
      name: 'mailroom_worker_delivery_log_pruned_total',
      help: 'Delivery log entries deleted past their retention',
      registers,
    }),
    signInLogPruned: new Counter({
      name: 'mailroom_worker_sign_in_log_pruned_total',
      help: 'Sign-ins (of mailboxes and of panel users) deleted past their retention',
      registers,
    }),
  };
}
