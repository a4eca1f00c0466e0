// Wire types of the REST API, inferred from core's zod schemas. Type-only: no zod reaches the browser bundle.
export type {
  Alias,
  ApiKey,
  ApiKeyScope,
  AuditEvent,
  ClientSettings,
  CreatedApiKey,
  DnsRecord,
  Domain,
  DomainDns,
  ErrorCode,
  Mailbox,
  Me,
  Owner,
  Passkey,
  Problem,
  LoginResponse,
  RecoveryCodes,
  TotpEnrolment,
  TwoFactorStatus,
} from '@mailroom/core/schemas';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
