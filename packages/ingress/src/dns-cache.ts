/**
 * A small DNS cache for the sender checks (INGRESS_DNS_CACHE_S). One message from a sender costs several lookups (the
 * MAIL FROM domain's MX, SPF's TXT and the records its mechanisms name, the DKIM key, the DMARC record), and the next
 * message from the same sender asks the same questions. Answers are kept for a short while in the process, so a
 * busy MX does not wait on the network for each of them, and identical questions in flight are asked once.
 *
 * Node's resolver reports no TTL for TXT or MX answers, so an answer is kept for the configured time (5 minutes by
 * default: shorter than the TTL of nearly all SPF, DKIM and DMARC records, and a rotated DKIM key stays published far
 * longer than that). "No such name" and "no such record" are kept for a minute; failures (timeouts, SERVFAIL) are
 * not kept, so the next message asks again. A local caching resolver (Unbound) in front remains the better cache.
 */
import { isNoRecord } from '@mailroom/core';

export interface DnsCacheOptions {
  /** How long an answer is reused. */
  positiveMs: number;
  /** How long "no such name / record" is reused (at most `positiveMs`). */
  negativeMs: number;
  /** Answers kept at most; the oldest go first. */
  maxEntries: number;
  /** Told of each question: answered from the cache (or joined one in flight), or asked. */
  onLookup?: (result: 'hit' | 'miss') => void;
  now?: () => number;
}

export type DnsLookup = (name: string, type: string) => Promise<unknown>;

interface Entry {
  expires: number;
  answer: { value: unknown } | { error: unknown };
}

export class DnsCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly now: () => number;

  constructor(
    private readonly lookup: DnsLookup,
    private readonly options: DnsCacheOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  resolve(name: string, type: string): Promise<unknown> {
    // names are case-insensitive (RFC 4343); a trailing dot names the same name
    const key = `${type.toUpperCase()} ${name.toLowerCase().replace(/\.$/, '')}`;
    const entry = this.entries.get(key);
    if (entry && entry.expires > this.now()) {
      this.options.onLookup?.('hit');
      // each asker gets its own copy: a caller that sorts or edits an answer cannot change the next one's
      return 'value' in entry.answer ? Promise.resolve(structuredClone(entry.answer.value)) : Promise.reject(entry.answer.error);
    }
    if (entry) this.entries.delete(key);
    const pending = this.inFlight.get(key);
    if (pending) {
      this.options.onLookup?.('hit');
      return pending.then((value) => structuredClone(value));
    }
    this.options.onLookup?.('miss');
    const asked = this.lookup(name, type).then(
      (value) => {
        this.keep(key, { value: structuredClone(value) }, this.options.positiveMs);
        return value;
      },
      (error: unknown) => {
        if (isNoRecord(error)) this.keep(key, { error }, Math.min(this.options.negativeMs, this.options.positiveMs));
        throw error;
      },
    );
    const settled = asked.finally(() => this.inFlight.delete(key));
    // a question nobody waits on any more must not become an unhandled rejection
    settled.catch(() => undefined);
    this.inFlight.set(key, settled);
    return settled;
  }

  private keep(key: string, answer: Entry['answer'], ms: number): void {
    if (ms <= 0) return;
    this.entries.set(key, { expires: this.now() + ms, answer });
    if (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}
