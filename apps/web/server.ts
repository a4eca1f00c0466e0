/**
 * The panel's server (what `npm start` and docker-compose run instead of `next start`): one HTTP server in front of
 * Next.js that decides who the client is before anything else reads the request.
 * - Every forwarding header the client sent (any `x-forwarded-*`, Forwarded, X-Real-IP …) is replaced by one
 *   X-Forwarded-For (the real peer, or, behind a front proxy listed in WEB_TRUSTED_PROXIES, the client that proxy
 *   reports) and one X-Forwarded-Proto (the connection's scheme, or that proxy's). Next.js only fills these in when a
 *   request lacks them, so without this step a visitor could pick them.
 * - `/api` and `/api/*` stream to API_INTERNAL_URL (lib/api-proxy.ts), and so do the well-known autoconfig and
 *   autodiscover paths and MTA-STS's policy file (lib/autoconfig-paths.ts, mapped onto the API's public endpoints, the
 *   policy by the request's Host); the API trusts this server's
 *   address (API_TRUSTED_PROXIES) and so logs and throttles by the real client.
 * - Everything else is Next.js (the last `next build`).
 * Logs a pino-style `"msg":"listening"` line when ready and answers GET /readyz (200) from then on; SIGTERM/SIGINT close
 * gracefully.
 */
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import next from 'next';
import { replaceForwardingHeaders } from '@mailroom/core/forwarded';
import { createApiProxy } from './lib/api-proxy';
import { autoconfigApiPath, mtaStsApiPath } from './lib/autoconfig-paths';
import { readServerConfig } from './lib/server-env';

function log(level: number, msg: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ level, time: Date.now(), service: 'web', ...extra, msg })}\n`);
}

let config: ReturnType<typeof readServerConfig>;
try {
  config = readServerConfig();
} catch (err) {
  console.error(`mailroom-web: ${(err as Error).message}`);
  process.exit(2);
}

const dir = path.dirname(fileURLToPath(import.meta.url));
const app = next({ dev: process.env.NODE_ENV === 'development', dir, hostname: config.listenHost, port: config.listenPort });
const handleNext = app.getRequestHandler();
const proxyToApi = createApiProxy(config.apiInternalUrl, (err) => log(40, 'API request failed', { err: err.message }));

await app.prepare();
const server = http.createServer((req, res) => {
  replaceForwardingHeaders(req, config.trustedProxies);
  const url = req.url ?? '/';
  // readiness for `npm start`'s supervisor: this server listens only once Next.js is prepared
  if (url === '/readyz') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
  if (url === '/api' || url.startsWith('/api/') || url.startsWith('/api?')) return proxyToApi(req, res);
  // Mail client autoconfiguration (Thunderbird, Outlook) is answered by the API's public endpoints.
  const query = url.indexOf('?');
  const autoconfig = autoconfigApiPath(query < 0 ? url : url.slice(0, query));
  if (autoconfig) {
    req.url = autoconfig + (query < 0 ? '' : url.slice(query));
    return proxyToApi(req, res);
  }
  // MTA-STS policy files (RFC 8461): by the Host the sender asked, `mta-sts.<domain>`.
  const mtaSts = mtaStsApiPath(query < 0 ? url : url.slice(0, query), req.headers.host);
  if (mtaSts) {
    req.url = mtaSts;
    return proxyToApi(req, res);
  }
  void handleNext(req, res);
});
server.keepAliveTimeout = 65_000;
// WebSocket upgrades (next dev's hot reload): same header rule, then Next.js; the API has no WebSockets.
const handleUpgrade = app.getUpgradeHandler();
server.on('upgrade', (req, socket, head) => {
  replaceForwardingHeaders(req, config.trustedProxies);
  if ((req.url ?? '/').startsWith('/api')) return socket.destroy();
  void handleUpgrade(req, socket, head);
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    server.close(() => {
      void app.close().finally(() => {
        log(30, 'stopped');
        process.exit(0);
      });
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  });
}

server.listen(config.listenPort, config.listenHost, () => {
  const address = server.address();
  log(30, 'listening', {
    host: config.listenHost,
    port: typeof address === 'object' && address ? address.port : config.listenPort,
    trustedProxies: config.trustedProxies.spec,
  });
});
