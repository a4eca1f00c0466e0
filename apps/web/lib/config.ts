import 'server-only';
import { readServerConfig, type ServerConfig } from './server-env';

export type { ServerConfig };

let cached: ServerConfig | undefined;

/** The panel's configuration for server components (see lib/server-env.ts), read once per process. */
export function serverConfig(): ServerConfig {
  cached ??= readServerConfig();
  return cached;
}
