import type { NextConfig } from 'next';

// `/api/*` is proxied to the REST API at request time by proxy.ts (API_INTERNAL_URL is only known when the stack
// starts, after `next build`), so the panel and the API share one origin: cookies and CSRF protection just work.
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
