export * from './config.ts';
export { createWorker, QUEUE_SCHEMA, type Worker, type WorkerDeps } from './worker.ts';
export { JOBS, pruneClaims, recheckDueDomains, type JobContext, type JobDefinition, type RecheckSummary } from './jobs.ts';
export { createWorkerMetrics, type WorkerMetrics } from './metrics.ts';
