import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

// `/api/*` is proxied to the REST API by server.ts (lib/api-proxy.ts), not by a rewrite: the panel and the API share
// one origin (cookies and CSRF protection just work) and the API learns the real client address, not one a visitor
// wrote into X-Forwarded-For.
const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  transpilePackages: ['@mailroom/core'],
  // The production image (Dockerfile, via `npm run bundle`, which sets MAILROOM_WEB_OUTPUT=standalone) runs
  // .next/standalone: the traced server files and only the node_modules they load. Traced from the repository root,
  // so the standalone tree mirrors it (apps/web/...) and server.ts's bundle (scripts/bundle.mjs) sits at
  // apps/web/server.mjs. `tsx server.ts` (npm start, the tests) serves .next itself; a standalone build works there
  // too, but Next then warns on every start that `next start` does not support it, hence the switch.
  ...(process.env.MAILROOM_WEB_OUTPUT === 'standalone' ? { output: 'standalone' as const } : {}),
  outputFileTracingRoot: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'),
  async headers() {
    return [
      {
        source: '/((?!api/).*)',
        headers: [
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'Referrer-Policy', value: 'same-origin' },
        ],
      },
    ];
  },
};

export default nextConfig;
