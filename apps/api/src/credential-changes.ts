import { createNotificationListener } from '@mailroom/db';
import type { Logger } from '@mailroom/runtime';

/** The channel the database triggers of migration 20261201072000_credential_notify notify on. */
export const CREDENTIALS_CHANNEL = 'mailroom_credentials';

/** One API key or user changed (revoked, expired, rescoped, disabled, deleted, …), or `all`: anything may have. */
export type CredentialChange = { kind: 'api_key' | 'user'; id: string } | { kind: 'all' };

/**
 * Credential changes committed by any process on the database, for the API key cache (plugins/auth.ts): it caches
 * only while `live`, and drops entries on every change.
 */
export interface CredentialChanges {
  /** True while every committed change is heard; false while the feed is down (then nothing may be cached). */
  readonly live: boolean;
  subscribe(handler: (change: CredentialChange) => void): () => void;
}

export interface CredentialChangeFeed extends CredentialChanges {
  /** Resolves once listening (or with the first connection error; reconnecting goes on in the background). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export function parseCredentialChange(payload: string): CredentialChange {
  const m = /^(api_key|user):([0-9a-f-]{36})$/.exec(payload);
  return m ? { kind: m[1] as 'api_key' | 'user', id: m[2]! } : { kind: 'all' };
}

/**
 * LISTENs on its own connection to `connectionString` (a direct or session-pooled URL: LISTEN does not survive
 * transaction pooling). A lost connection is retried with backoff; while it is down `live` is false, and both the loss
 * and the return are announced as `all`, since changes committed in between were not heard.
 */
export function listenForCredentialChanges(connectionString: string, logger?: Logger): CredentialChangeFeed {
  const handlers = new Set<(change: CredentialChange) => void>();
  const emit = (change: CredentialChange) => {
    for (const h of handlers) h(change);
  };
  let lastError = '';
  const listener = createNotificationListener({
    connectionString,
    channels: [CREDENTIALS_CHANNEL],
    applicationName: 'mailroom-api-listen',
    onNotification: (_channel, payload) => emit(parseCredentialChange(payload)),
    onState: (listening) => {
      if (listening) logger?.info('credential change feed listening: API key cache on');
      else logger?.warn('credential change feed lost: API key cache off until it reconnects');
      emit({ kind: 'all' });
    },
    onError: (err) => {
      // one line per distinct error, not one per retry
      if (err.message !== lastError) logger?.warn({ err: err.message }, 'credential change feed error');
      lastError = err.message;
    },
  });
  return {
    get live() {
      return listener.listening;
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    ready: () => listener.ready(),
    close: () => listener.close(),
  };
}
