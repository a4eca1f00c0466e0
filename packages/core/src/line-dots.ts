/**
 * Finding lines that start with "." in mail data: what POP3 dot-stuffs when it sends a message (RFC 1939 §3) and what
 * SMTP and LMTP unstuff when they receive one (RFC 5321 §4.5.2).
 *
 * `buf.indexOf('\n.')` is the obvious search, but Node searches a short pattern by looking for its first octet and
 * checking the rest, so it stops at every line break: about one stop per 78 octets of a base64 attachment, where the
 * "." it looks for never occurs. This searches for the "." and checks the octet before it, which is one native scan
 * through a base64 body. Text with "." inside its lines (sentences, addresses) would make it stop more often than at
 * each line, so after a few such dots in one call it finishes with the line-break search.
 *
 * Measured over 50 MiB, Node 20 (`npx tsx bench/line-dots.ts` in packages/core, best of five): base64 lines with a "."
 * line every 50 lines 16.9 ms with `indexOf('\n.')`, 5.9 ms this way; base64 without 9.9 and 3.9 ms; text with three
 * "." per line 21.1 and 21.6 ms.
 */
const LF = 0x0a;
const DOT = 0x2e;
const LF_DOT = Buffer.from('\n.');

/** Dots not at a line's start one call accepts before it finishes with the line-break search. */
export const LINE_DOT_MISSES_BEFORE_LINE_SEARCH = 8;

/**
 * The index of the next LF that is followed by ".", at or after `from` (≥ 0): the same answer as
 * `buf.indexOf('\n.', from)`, found faster when dots are rare. -1 when there is none.
 */
export function indexOfLfDot(buf: Buffer, from = 0): number {
  let misses = 0;
  let dot = buf.indexOf(DOT, from + 1);
  while (dot !== -1) {
    if (buf[dot - 1] === LF) return dot - 1;
    // every dot before this one was looked at, so no LF-dot pair starts before it
    if (++misses === LINE_DOT_MISSES_BEFORE_LINE_SEARCH) return buf.indexOf(LF_DOT, dot);
    dot = buf.indexOf(DOT, dot + 1);
  }
  return -1;
}
