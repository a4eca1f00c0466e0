import { NextResponse, type NextRequest } from 'next/server';
import { contentSecurityPolicy, newNonce } from './lib/csp';

/**
 * Runs before every page request (not static assets, and not `/api/*`, which server.ts proxies to the API before
 * Next.js sees it): pages get a Content-Security-Policy with a fresh nonce; Next.js reads it from the request headers
 * and puts it on the scripts it renders (pages are rendered per request: see app/layout.tsx).
 */
export function proxy(request: NextRequest) {
  const policy = contentSecurityPolicy(newNonce(), process.env.NODE_ENV === 'development');
  const headers = new Headers(request.headers);
  headers.set('content-security-policy', policy);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set('content-security-policy', policy);
  return response;
}

export const config = {
  matcher: [
    // pages (prefetches included); not the build's static files
    { source: '/((?!_next/static|_next/image|favicon.ico).*)' },
  ],
};
