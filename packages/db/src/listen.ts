import pg from 'pg';

export interface NotificationListenerOptions {
  /**
   * A URL on which LISTEN works: PostgreSQL itself or a session-pooling PgBouncer. A transaction-pooling PgBouncer
   * would hand the LISTEN to a server connection other clients then use, so notifications would get lost.
   */
  connectionString: string;
  /** Channels to LISTEN on (lowercase identifiers). */
  channels: readonly string[];
  /** Called for every notification on a listened channel. */
  onNotification(channel: string, payload: string): void;
  /**
   * Called with true once LISTEN is in place (first connect and after every reconnect: notifications sent meanwhile
   * are lost, so a cache must start afresh) and with false as soon as the connection is lost.
   */
  onState?(listening: boolean): void;
  onError?(err: Error): void;
  applicationName?: string;
  /** First reconnect delay; doubles per failure up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

export interface NotificationListener {
  /** True while LISTEN is in place on a live connection. */
  readonly listening: boolean;
  /** Resolves once listening for the first time (or rejects with the first connection error; retries go on). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

const CHANNEL_RE = /^[a-z_][a-z0-9_]*$/;

/**
 * One dedicated connection (outside every pool) that LISTENs on `channels` and reconnects with backoff after any
 * error, for processes that must hear of changes other processes commit (e.g. to drop cached credentials).
 */
export function createNotificationListener(opts: NotificationListenerOptions): NotificationListener {
  for (const c of opts.channels) if (!CHANNEL_RE.test(c)) throw new Error(`invalid channel name ${c}`);
  const baseDelay = opts.retryDelayMs ?? 250;
  const maxDelay = opts.maxRetryDelayMs ?? 5_000;
  let client: pg.Client | undefined;
  let listening = false;
  let closed = false;
  let delay = baseDelay;
  let timer: NodeJS.Timeout | undefined;
  let firstResolve!: () => void;
  let firstReject!: (err: Error) => void;
  let settled = false;
  const first = new Promise<void>((resolve, reject) => {
    firstResolve = resolve;
    firstReject = reject;
  });
  first.catch(() => undefined);

  const setListening = (v: boolean) => {
    if (listening === v) return;
    listening = v;
    opts.onState?.(v);
  };

  const lost = (c: pg.Client, err?: Error) => {
    if (client !== c) return;
    client = undefined;
    setListening(false);
    if (err) opts.onError?.(err);
    c.removeAllListeners('notification');
    c.on('error', () => undefined);
    c.end().catch(() => undefined);
    if (closed) return;
    timer = setTimeout(connect, delay);
    timer.unref();
    delay = Math.min(maxDelay, delay * 2);
  };

  const connect = () => {
    if (closed) return;
    const c = new pg.Client({
      connectionString: opts.connectionString,
      application_name: opts.applicationName ?? 'mailroom-listen',
      keepAlive: true,
    });
    client = c;
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c, new Error('listen connection ended')));
    c.on('notification', (n) => opts.onNotification(n.channel, n.payload ?? ''));
    c.connect()
      .then(async () => {
        for (const channel of opts.channels) await c.query(`LISTEN ${channel}`);
        if (client !== c) return;
        delay = baseDelay;
        setListening(true);
        if (!settled) {
          settled = true;
          firstResolve();
        }
      })
      .catch((err: Error) => {
        if (!settled) {
          settled = true;
          firstReject(err);
        }
        lost(c, err);
      });
  };
  connect();

  return {
    get listening() {
      return listening;
    },
    ready: () => first,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = undefined;
      setListening(false);
      if (c) {
        c.removeAllListeners();
        c.on('error', () => undefined);
        await c.end().catch(() => undefined);
      }
    },
  };
}
