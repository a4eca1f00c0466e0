// Wire types of the REST API, inferred from core's zod schemas. Type-only: no zod reaches the browser bundle.
export type {
  Alias,
  ApiKey,
  ApiKeyScope,
  AuditEvent,
  BulkMailboxResult,
  ClientSettings,
  CreatedApiKey,
  DnsRecord,
  Domain,
  DomainDns,
  ErrorCode,
  GeneratedPassword,
  Mailbox,
  MailboxImportIssue,
  MailboxImportReport,
  Me,
  Owner,
  Problem,
} from '@mailroom/core/schemas';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
