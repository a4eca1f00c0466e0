export { DeliveryService, deliverMessage, replyForError } from './delivery.ts';
export type {
  BatchInfo,
  DeliveryServiceOptions,
  DeliveryTarget,
  RecipientResolution,
  StoredCopy,
  StoreResult,
  StoreRequest,
  DeliverMessageInput,
  DeliverMessageResult,
  RecipientOutcome,
} from './delivery.ts';
export { CrlfNormalizer, normalizeCrlf, splitTraceFields, buildTraceFields, newQueueId } from './message.ts';
export { REPLIES, SmtpReplyError, formatReply, type SmtpReply } from './replies.ts';
export * from './config.ts';
export { createIngress, type Ingress, type IngressDeps, type IngressPorts } from './server.ts';
export { createIngressMetrics, type IngressMetrics } from './metrics.ts';
