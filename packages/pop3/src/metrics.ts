import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Pop3Metrics {
  registry: Registry;
  connectionsTotal: Counter<'port'>;
  connectionsActive: Gauge;
  connectionsRejected: Counter<'reason'>;
  logins: Counter<'result'>;
  authDuration: Histogram;
  commands: Counter<'command'>;
  retrievedOctets: Counter;
  deletedMessages: Counter;
  slowTransfersCut: Counter;
  sessionsLoggedIn: Gauge;
}

/** The server's Prometheus metrics, in their own registry (so several servers can live in one process). */
export function createPop3Metrics(opts: { registry?: Registry; defaultMetrics?: boolean } = {}): Pop3Metrics {
  const registry = opts.registry ?? new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    connectionsTotal: new Counter({
      name: 'mailroom_pop3_connections_total',
      help: 'Accepted POP3 connections',
      labelNames: ['port'],
      registers,
    }),
    connectionsActive: new Gauge({ name: 'mailroom_pop3_connections_active', help: 'Open POP3 connections', registers }),
    connectionsRejected: new Counter({
      name: 'mailroom_pop3_connections_rejected_total',
      help: 'Connections refused by a limit',
      labelNames: ['reason'],
      registers,
    }),
    logins: new Counter({ name: 'mailroom_pop3_logins_total', help: 'Login attempts by result', labelNames: ['result'], registers }),
    authDuration: new Histogram({
      name: 'mailroom_pop3_auth_duration_seconds',
      help: 'Time to answer a login attempt (throttle delay included)',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
      registers,
    }),
    commands: new Counter({ name: 'mailroom_pop3_commands_total', help: 'Commands handled', labelNames: ['command'], registers }),
    retrievedOctets: new Counter({ name: 'mailroom_pop3_retrieved_octets_total', help: 'Message octets sent by RETR and TOP', registers }),
    deletedMessages: new Counter({ name: 'mailroom_pop3_deleted_messages_total', help: 'Messages deleted at QUIT', registers }),
    slowTransfersCut: new Counter({
      name: 'mailroom_pop3_slow_transfers_cut_total',
      help: 'RETR/TOP connections cut below POP3_RETR_MIN_BYTES_PER_SEC',
      registers,
    }),
    sessionsLoggedIn: new Gauge({ name: 'mailroom_pop3_sessions_logged_in', help: 'Sessions in TRANSACTION state', registers }),
  };
}
