import 'server-only';

/**
 * The panel's server-side configuration: the only module in apps/web that reads process.env.
 * Read at request time (not at build time), because `next build` runs before the stack knows its ports.
 */
export interface ServerConfig {
  /** Where the REST API listens, as seen from the panel's server. */
  apiInternalUrl: string;
}

let cached: ServerConfig | undefined;

export function serverConfig(): ServerConfig {
  if (cached) return cached;
  const apiInternalUrl = (process.env.API_INTERNAL_URL?.trim() || 'http://127.0.0.1:3001').replace(/\/+$/, '');
  try {
    new URL(apiInternalUrl);
  } catch {
    throw new Error(`API_INTERNAL_URL must be an absolute URL, got "${apiInternalUrl}"`);
  }
  // Mail client settings (host, public ports) are not read here: the connection card asks the API (/client-settings).
  cached = { apiInternalUrl };
  return cached;
}
