import type { NextConfig } from 'next';

// `/api/*` is proxied to the REST API by server.ts (lib/api-proxy.ts), not by a rewrite: the panel and the API share
// one origin (cookies and CSRF protection just work) and the API learns the real client address, not one a visitor
// wrote into X-Forwarded-For.
const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  transpilePackages: ['@mailroom/core'],
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
