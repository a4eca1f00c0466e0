// Wire types of the REST API, inferred from core's zod schemas. Type-only: no zod reaches the browser bundle.
export type {
  Alias,
  ApiKey,
  ApiKeyScope,
  AppPassword,
  AppPasswordList,
  CreatedAppPassword,
  SessionInfo,
  SessionList,
  AuditEvent,
  BulkMailboxResult,
  ClientSettings,
  DeliveryLogEntry,
  CreatedApiKey,
  DnsRecord,
  Domain,
  DomainDns,
  DomainSummary,
  ErrorCode,
  GeneratedPassword,
  Mailbox,
  MailboxImportIssue,
  MailboxImportReport,
  Me,
  Owner,
  Passkey,
  Problem,
  WebhookEndpoint,
  CreatedWebhookEndpoint,
  WebhookDelivery,
  WebhookEventType,
  LoginResponse,
  RecoveryCodes,
  TotpEnrolment,
  TwoFactorStatus,
  QuotaWarningMailbox,
  SenderRule,
} from '@mailroom/core/schemas';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
