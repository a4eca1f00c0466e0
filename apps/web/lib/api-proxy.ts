/**
 * The panel's `/api/*` proxy to API_INTERNAL_URL (same origin for the browser: the session cookie and CSRF protection
 * just work). It replaces Next.js's rewrite proxy, which passes a client's own X-Forwarded-For through to the API
 * unchanged (Next 16 only fills it in when it is absent), so any visitor could choose the address the API logs and
 * throttles by. server.ts has already replaced every forwarding header by its own conclusion (replaceForwardingHeaders);
 * here the request and response stream through unchanged otherwise: method, path and query, body, cookies, status,
 * headers (every Set-Cookie line), minus hop-by-hop headers.
 */
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream';

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1): never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** How long the API may take to start answering before the visitor gets a 504. */
const API_RESPONSE_TIMEOUT_MS = 60_000;

function endToEnd(headers: IncomingMessage['headers']): OutgoingHttpHeaders {
  const listed = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !HOP_BY_HOP.has(name) && !listed.has(name)) out[name] = value;
  return out;
}

function problem(res: ServerResponse, status: number, title: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ type: 'about:blank', title, status, code: 'INTERNAL' }));
}

export type ApiProxy = (req: IncomingMessage, res: ServerResponse) => void;

/** A streaming reverse proxy to `apiInternalUrl` (http or https) over kept-alive connections. */
export function createApiProxy(apiInternalUrl: string, onError: (err: Error) => void = () => undefined): ApiProxy {
  const target = new URL(apiInternalUrl);
  const transport = target.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true });
  return (req, res) => {
    const headers = endToEnd(req.headers);
    headers.host = target.host;
    const upstream = transport.request({
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers,
      agent,
    });
    upstream.setTimeout(API_RESPONSE_TIMEOUT_MS, () =>
      upstream.destroy(Object.assign(new Error('API response timed out'), { code: 'ETIMEDOUT' })),
    );
    upstream.on('response', (answer) => {
      upstream.setTimeout(0);
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
      pipeline(answer, res, () => undefined); // either side failing ends both
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      // The visitor went away first, or the API already answered (e.g. 413 before reading a large body, then closed):
      // a broken answer ends the visitor's response through the pipeline above.
      if (res.destroyed || res.headersSent) return;
      onError(err);
      problem(res, err.code === 'ETIMEDOUT' ? 504 : 502, 'The API could not be reached; try again shortly');
    });
    // The body streams to the API as it arrives (with backpressure); a visitor who goes away ends the upstream request.
    req.on('error', () => upstream.destroy());
    req.pipe(upstream);
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
  };
}
