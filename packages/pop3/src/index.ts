export { createPop3Server, type Pop3Server, type Pop3ServerDeps, type BoundPorts } from './server.ts';
export { PrismaMaildropStore, MESSAGE_CHUNK_OCTETS, type PrismaMaildropStoreOptions } from './prisma-store.ts';
export type { MaildropStore, Maildrop, MessageInfo, AuthOutcome, CommitResult, ReadMessageOptions } from './store.ts';
export { MessageGoneError, LockLostError } from './store.ts';
export { pop3EnvSchema, parsePop3Env, configFromEnv, MIN_IDLE_TIMEOUT_S, type Pop3Config, type Pop3Env } from './config.ts';
export { createPop3Metrics, type Pop3Metrics } from './metrics.ts';
