/**
 * SMTP/LMTP replies with RFC 3463 enhanced status codes. This is the one place where delivery outcomes become reply
 * codes (the ingress edge of core's error codes).
 */
export interface SmtpReply {
  code: number;
  /** Enhanced status code, e.g. `5.1.1`. */
  status: string;
  text: string;
}

export type QuotaReplyMode = 'temporary' | 'permanent';

export const REPLIES = {
  unknownUser: { code: 550, status: '5.1.1', text: 'No such user here' },
  badAddress: { code: 553, status: '5.1.3', text: 'Bad recipient address syntax' },
  disabled: { code: 550, status: '5.2.1', text: 'Mailbox disabled, not accepting messages' },
  domainDisabled: { code: 550, status: '5.2.1', text: 'Domain disabled, not accepting messages' },
  relayDenied: { code: 550, status: '5.7.1', text: 'Relay access denied' },
  /** A sender rule of the recipient's domain blocks MAIL FROM (Postfix's check_sender_access REJECT words it so). */
  senderBlocked: { code: 550, status: '5.7.1', text: 'Sender address rejected: Access denied' },
  quotaTemporary: { code: 452, status: '4.2.2', text: 'Mailbox full, try again later' },
  quotaPermanent: { code: 552, status: '5.2.2', text: 'Mailbox full' },
  domainQuotaTemporary: { code: 452, status: '4.2.2', text: 'Domain storage full, try again later' },
  domainQuotaPermanent: { code: 552, status: '5.2.2', text: 'Domain storage full' },
  ownerQuotaTemporary: { code: 452, status: '4.2.2', text: 'Account storage full, try again later' },
  ownerQuotaPermanent: { code: 552, status: '5.2.2', text: 'Account storage full' },
  tooBig: { code: 552, status: '5.3.4', text: 'Message size exceeds fixed maximum message size' },
  headerTooBig: { code: 554, status: '5.6.0', text: 'Message header section too large' },
  rateLimited: { code: 451, status: '4.7.1', text: 'Too many messages from your address, try again later' },
  tooManyConnections: { code: 421, status: '4.7.0', text: 'Too many connections from your address, try again later' },
  tooManyErrors: { code: 421, status: '4.7.0', text: 'Too many errors, closing connection' },
  temporaryFailure: { code: 451, status: '4.3.0', text: 'Local error in processing, try again later' },
  busy: { code: 452, status: '4.3.1', text: 'Insufficient system storage, try again later' },
  noAuth: { code: 502, status: '5.5.1', text: 'Authentication not available on this server' },
} as const satisfies Record<string, SmtpReply>;

export function quotaReply(mode: QuotaReplyMode, scope: 'mailbox' | 'domain' | 'owner'): SmtpReply {
  if (scope === 'owner') return mode === 'permanent' ? REPLIES.ownerQuotaPermanent : REPLIES.ownerQuotaTemporary;
  if (scope === 'domain') return mode === 'permanent' ? REPLIES.domainQuotaPermanent : REPLIES.domainQuotaTemporary;
  return mode === 'permanent' ? REPLIES.quotaPermanent : REPLIES.quotaTemporary;
}

/** `550 5.1.1 text` */
export function formatReply(reply: SmtpReply): string {
  return `${reply.code} ${reply.status} ${reply.text}`;
}

/** An Error smtp-server turns into a reply: `responseCode` + message (which starts with the enhanced code). */
export class SmtpReplyError extends Error {
  readonly responseCode: number;
  readonly reply: SmtpReply;
  constructor(reply: SmtpReply, text?: string) {
    super(`${reply.status} ${text ?? reply.text}`);
    this.name = 'SmtpReplyError';
    this.responseCode = reply.code;
    this.reply = text ? { ...reply, text } : reply;
  }
}

/** `5.1.1 text`: the reply text smtp-server sends after the code. */
export function replyText(r: SmtpReply): string {
  return `${r.status} ${r.text}`;
}

/** The `result` label of the ingress metrics: `550_5.1.1`. */
export function resultLabel(r: SmtpReply): string {
  return `${r.code}_${r.status}`;
}
