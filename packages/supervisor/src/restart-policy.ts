/** When a supervised process that exited is started again, and when its crashes mean the stack must stop. */
export interface RestartPolicyOptions {
  /** Delay before the first restart; each further crash doubles it. */
  backoffMinMs: number;
  /** Longest delay between restarts. */
  backoffMaxMs: number;
  /** A process that ran at least this long before exiting starts over at backoffMinMs. */
  stableAfterMs: number;
  /** This many crashes within crashLoopWindowMs is a crash loop: the stack stops. */
  crashLoopRestarts: number;
  crashLoopWindowMs: number;
}

export type RestartDecision = { action: 'restart'; delayMs: number; attempt: number } | { action: 'give-up'; crashes: number };

/** Exponential backoff with a reset after a stable run, and a crash-loop limit (N crashes within M ms). */
export class RestartPolicy {
  private consecutive = 0;
  private crashes: number[] = [];

  constructor(private readonly opts: RestartPolicyOptions) {}

  /** Records a crash at `now` of a process that had run for `uptimeMs`, and says what to do next. */
  onCrash(now: number, uptimeMs: number): RestartDecision {
    if (uptimeMs >= this.opts.stableAfterMs) this.consecutive = 0;
    this.crashes = this.crashes.filter((t) => now - t < this.opts.crashLoopWindowMs);
    this.crashes.push(now);
    if (this.crashes.length >= this.opts.crashLoopRestarts) return { action: 'give-up', crashes: this.crashes.length };
    const delayMs = Math.min(this.opts.backoffMaxMs, this.opts.backoffMinMs * 2 ** this.consecutive);
    this.consecutive++;
    return { action: 'restart', delayMs, attempt: this.consecutive };
  }
}
