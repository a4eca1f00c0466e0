import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** How long /readyz waits for its check (a database ping) before answering 503. */
export const READY_CHECK_TIMEOUT_MS = 2_000;

/** What /metrics serves: a prom-client Registry fits as it is. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface OpsServerOptions {
  host: string;
  /** 0 = a free port. */
  port: number;
  /** /readyz: true = 200 ready; false = 503 not ready; a rejection (or no answer in time) = 503 unavailable. */
  ready(): Promise<boolean>;
  metrics: MetricsSource;
}

export interface OpsServer {
  /** Resolves with the bound port. */
  listen(): Promise<number>;
  address(): AddressInfo | null;
  close(): Promise<void>;
}

const json = (res: http.ServerResponse, status: number, body: object) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

/**
 * The health and metrics listener of a service without an HTTP server of its own: GET /healthz (the process answers),
 * /readyz (`ready()` within {@link READY_CHECK_TIMEOUT_MS}) and /metrics (Prometheus text). Bind it to METRICS_HOST.
 */
export function createOpsServer(opts: OpsServerOptions): OpsServer {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (url === '/healthz') {
      json(res, 200, { status: 'ok' });
    } else if (url === '/readyz') {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('readiness check timed out')), READY_CHECK_TIMEOUT_MS);
      });
      Promise.race([opts.ready(), timeout])
        .then(
          (ready) => json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' }),
          // no error text: it may name hosts or users
          () => json(res, 503, { status: 'unavailable' }),
        )
        .finally(() => clearTimeout(timer));
    } else if (url === '/metrics') {
      opts.metrics.metrics().then(
        (body) => res.writeHead(200, { 'content-type': opts.metrics.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    } else {
      json(res, 404, { status: 'not found' });
    }
  });
  return {
    listen: () =>
      new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    address: () => server.address() as AddressInfo | null,
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
