/** The API path (under /api/v1) of a domain's own sender list or a mailbox's: POST adds a rule, then /import, /export. */
export function senderListPath(list: { kind: 'domain' | 'mailbox'; id: string }): string {
  return `/${list.kind === 'domain' ? 'domains' : 'mailboxes'}/${list.id}/sender-rules`;
}
