export { createPop3Server, type Pop3Server, type Pop3ServerDeps, type BoundPorts } from './server.ts';
export { PrismaMaildropStore, MESSAGE_CHUNK_OCTETS, type PrismaMaildropStoreOptions } from './prisma-store.ts';
export type { MaildropStore, LeaseOwner, Maildrop, MessageInfo, AuthOutcome, CommitResult, ReadMessageOptions } from './store.ts';
export { MessageGoneError, LockLostError } from './store.ts';
export {
  pop3EnvSchema,
  parsePop3Env,
  configFromEnv,
  databaseOptionsFromEnv,
  MIN_IDLE_TIMEOUT_S,
  type Pop3Config,
  type Pop3Env,
  type Pop3DatabaseOptions,
} from './config.ts';
export { openPop3Database, type Pop3Database } from './database.ts';
export { createPop3Metrics, type Pop3Metrics } from './metrics.ts';
