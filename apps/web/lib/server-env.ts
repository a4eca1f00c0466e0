/**
 * The panel's server-side configuration: the only module in apps/web that reads process.env. Read when the server
 * starts (server.ts) and at request time by server components (lib/config.ts), never at build time, because
 * `next build` runs before the stack knows its ports. Free of `server-only` so server.ts can import it. Mail client
 * settings (host, public ports) are not read here: the connection card asks the API (/client-settings).
 */
import { parseTrustedProxies, type TrustedProxies } from '@mailroom/core/forwarded';

export interface ServerConfig {
  /** Where the REST API listens, as seen from the panel's server. */
  apiInternalUrl: string;
  /** Address and port the panel's server listens on (MAILROOM_HOST, WEB_PORT). */
  listenHost: string;
  listenPort: number;
  /** Front proxies (TLS terminators) whose X-Forwarded-For/-Proto the panel believes and passes on to the API. */
  trustedProxies: TrustedProxies;
}

function readPort(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name} must be a port number (1-65535), got "${raw}"`);
  return n;
}

export function readServerConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const apiInternalUrl = (env.API_INTERNAL_URL?.trim() || 'http://127.0.0.1:3001').replace(/\/+$/, '');
  let api: URL;
  try {
    api = new URL(apiInternalUrl);
  } catch {
    throw new Error(`API_INTERNAL_URL must be an absolute URL, got "${apiInternalUrl}"`);
  }
  if (api.protocol !== 'http:' && api.protocol !== 'https:')
    throw new Error(`API_INTERNAL_URL must be an http(s) URL, got "${apiInternalUrl}"`);
  return {
    apiInternalUrl,
    listenHost: env.MAILROOM_HOST?.trim() || '127.0.0.1',
    listenPort: readPort(env, 'WEB_PORT', 3000),
    trustedProxies: parseTrustedProxies(env.WEB_TRUSTED_PROXIES?.trim() ?? 'none', 'WEB_TRUSTED_PROXIES'),
  };
}
