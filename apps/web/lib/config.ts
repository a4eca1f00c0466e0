import 'server-only';

/**
 * The panel's server-side configuration: the only module in apps/web that reads process.env.
 * Read at request time (not at build time), because `next build` runs before the stack knows its ports.
 */
export interface ServerConfig {
  /** Where the REST API listens, as seen from the panel's server. */
  apiInternalUrl: string;
  /** Host name users put into their mail client. */
  publicHost: string;
  /** POP3 with STLS, as users reach it (may differ from the bound port behind a NAT or proxy). */
  pop3PublicPort: number;
  /** POP3 over implicit TLS, as users reach it. */
  pop3sPublicPort: number;
}

function readPort(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name} must be a port number (1-65535), got "${raw}"`);
  return n;
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
  cached = {
    apiInternalUrl,
    publicHost: process.env.MAILROOM_PUBLIC_HOST?.trim() || process.env.MAILROOM_HOST?.trim() || 'localhost',
    pop3PublicPort: readPort('POP3_PUBLIC_PORT', 110),
    pop3sPublicPort: readPort('POP3S_PUBLIC_PORT', 995),
  };
  return cached;
}
