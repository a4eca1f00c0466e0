/** The API path (under /api/v1) of a domain's own sender list or a mailbox's: POST adds a rule, then /import, /export. */
export function senderListPath(list: { kind: 'domain' | 'mailbox'; id: string }): string {
  return `/${list.kind === 'domain' ? 'domains' : 'mailboxes'}/${list.id}/sender-rules`;
}

/** An address a message can be blocked by: its author (the From field) or the address its server gave (MAIL FROM). */
export type SenderCandidate = { address: string; kind: 'author' | 'envelope' };

/**
 * The addresses a "Block sender" may offer for one message, the author first (what the recipient's mail client shows,
 * and what stays the same across a bulk sender's bounce addresses), each once whatever its case; none without an `@`
 * (the null sender of a bounce).
 */
export function senderCandidates(author: string | null | undefined, envelope: string | null | undefined): SenderCandidate[] {
  const out: SenderCandidate[] = [];
  for (const [address, kind] of [
    [author, 'author'],
    [envelope, 'envelope'],
  ] as const) {
    if (address?.includes('@') && !out.some((c) => c.address.toLowerCase() === address.toLowerCase())) out.push({ address, kind });
  }
  return out;
}
