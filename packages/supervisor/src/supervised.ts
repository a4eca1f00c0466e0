import type { Logger } from '@mailroom/runtime';
import type { SupervisorMetrics } from './metrics.ts';
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy.ts';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: string;
}

/** One running incarnation of a supervised process. */
export interface Incarnation {
  pid?: number;
  /** Resolves when the process exits on its own (not after stop()). */
  exited: Promise<ExitInfo>;
  /** Resolves once it serves (polled /readyz); rejects only when aborted. */
  ready?(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

export interface GiveUp {
  service: string;
  crashes: number;
  windowMs: number;
  exit: ExitInfo;
}

export interface SupervisedOptions {
  name: string;
  /** Starts the process; a rejection counts as a crash. */
  launch(): Promise<Incarnation>;
  policy: RestartPolicyOptions;
  log: Logger;
  metrics: SupervisorMetrics;
  /** Called once when the process keeps crashing (see RestartPolicy); the unit then stays down. */
  onGiveUp(info: GiveUp): void;
}

export function describeExit(exit: ExitInfo): string {
  if (exit.error) return `failed to start: ${exit.error}`;
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

/**
 * Keeps one process running: starts it, restarts it with backoff when it exits on its own, logs and counts each restart,
 * and gives up (onGiveUp) on a crash loop. stop() ends it for good.
 */
export class Supervised {
  readonly name: string;
  private current?: Incarnation;
  private launching?: Promise<Incarnation>;
  private stopping = false;
  private restartTimer?: NodeJS.Timeout;
  private readyAbort?: AbortController;
  private readonly policy: RestartPolicy;
  private firstReady!: () => void;
  /** Resolves the first time the process is ready. */
  readonly ready: Promise<void>;
  isReady = false;
  restarts = 0;

  constructor(private readonly opts: SupervisedOptions) {
    this.name = opts.name;
    this.policy = new RestartPolicy(opts.policy);
    this.ready = new Promise((resolve) => (this.firstReady = resolve));
    opts.metrics.restarts.inc({ service: this.name }, 0);
    opts.metrics.up.set({ service: this.name }, 0);
  }

  get pid(): number | undefined {
    return this.current?.pid;
  }

  start(): void {
    void this.run();
  }

  private async run(): Promise<void> {
    if (this.stopping) return;
    const startedAt = Date.now();
    let exit: ExitInfo;
    try {
      this.launching = this.opts.launch();
      const inc = await this.launching;
      this.current = inc;
      // stop() came during the launch: it stops this incarnation
      if (this.stopping) return;
      this.opts.metrics.up.set({ service: this.name }, 1);
      this.opts.log.info({ service: this.name, pid: inc.pid, restarts: this.restarts }, 'service started');
      this.watchReadiness(inc);
      exit = await inc.exited;
    } catch (err) {
      exit = { code: null, signal: null, error: (err as Error)?.message ?? String(err) };
    }
    this.readyAbort?.abort();
    this.isReady = false;
    this.current = undefined;
    this.opts.metrics.up.set({ service: this.name }, 0);
    if (this.stopping) return;
    const decision = this.policy.onCrash(Date.now(), Date.now() - startedAt);
    if (decision.action === 'give-up') {
      this.opts.log.fatal(
        { service: this.name, ...exit, crashes: decision.crashes, windowMs: this.opts.policy.crashLoopWindowMs },
        'service keeps crashing',
      );
      this.opts.onGiveUp({ service: this.name, crashes: decision.crashes, windowMs: this.opts.policy.crashLoopWindowMs, exit });
      return;
    }
    this.restarts++;
    this.opts.metrics.restarts.inc({ service: this.name });
    this.opts.log.error(
      { service: this.name, code: exit.code, signal: exit.signal, error: exit.error, restarts: this.restarts, delayMs: decision.delayMs },
      `${this.name} ${describeExit(exit)}; restarting in ${decision.delayMs} ms`,
    );
    this.restartTimer = setTimeout(() => void this.run(), decision.delayMs);
  }

  private watchReadiness(inc: Incarnation): void {
    const abort = new AbortController();
    this.readyAbort = abort;
    const ready = inc.ready ? inc.ready(abort.signal) : Promise.resolve();
    ready.then(
      () => {
        if (abort.signal.aborted) return;
        this.isReady = true;
        if (this.restarts > 0) this.opts.log.info({ service: this.name, pid: inc.pid, restarts: this.restarts }, 'service ready again');
        this.firstReady();
      },
      () => undefined,
    );
  }

  /** Stops the process for good (no restart). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.readyAbort?.abort();
    const inc = this.current ?? (await this.launching?.catch(() => undefined));
    await inc?.stop();
  }
}
