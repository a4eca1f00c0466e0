export * from './client.ts';
export { applyMigrations, readMigrations, MIGRATIONS_DIR, MigrationError, type MigrateResult } from './migrate.ts';
export {
  startEmbeddedPostgres,
  withDatabase,
  findFreePort,
  MALLOC_TUNABLES,
  SERVICE_MALLOC_TUNABLES,
  postgresMallocTunables,
  withMallocTuning,
  type RunningPostgres,
} from './embedded.ts';
export { openDatabase, ensureDatabaseExists, type OpenDatabase, type OpenDatabaseOptions } from './database.ts';
export { newId, uuidV7Floor } from './ids.ts';
export { findSchemaDrift } from './drift.ts';
export {
  streamCopyRows,
  storedMessageCopySql,
  messageWindowSql,
  copyBinaryRowsIn,
  BinaryCopyRowDecoder,
  type CopyStreamOptions,
} from './pg-copy.ts';
export {
  copyMessageParts,
  messagePartsCopy,
  MESSAGE_PART_OCTETS,
  PARTS_MIN_BODY_OCTETS,
  SPLIT_BATCH_OCTETS,
  splitWholeMessages,
  storedInParts,
  type MessagePartsInput,
  type SplitWholeMessagesOptions,
  type SplitWholeMessagesResult,
} from './message-parts.ts';
export { createNotificationListener, type NotificationListener, type NotificationListenerOptions } from './listen.ts';
export { logHugePagesAdvice, SHMEM_THP_FILE, shmemThpMode, thpCoversSharedMemory, type HugePagesReport } from './huge-pages.ts';
export { queryWithBuffers, ByteaParts, type QueryWithBuffersOptions } from './pg-bind.ts';
