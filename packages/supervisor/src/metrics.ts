import { Counter, Gauge, Registry } from 'prom-client';

export interface SupervisorMetrics {
  registry: Registry;
  restarts: Counter<'service'>;
  up: Gauge<'service'>;
}

export function createSupervisorMetrics(): SupervisorMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    restarts: new Counter({
      name: 'mailroom_supervisor_restarts_total',
      help: 'Restarts after an unexpected exit, by service (postgres = the embedded PostgreSQL)',
      labelNames: ['service'],
      registers,
    }),
    up: new Gauge({
      name: 'mailroom_supervisor_service_up',
      help: '1 while the service process runs, 0 while it waits for a restart',
      labelNames: ['service'],
      registers,
    }),
  };
}
