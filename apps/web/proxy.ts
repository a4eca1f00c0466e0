import { NextResponse, type NextRequest } from 'next/server';
import { autoconfigApiPath } from './lib/autoconfig-paths';
import { serverConfig } from './lib/config';
import { contentSecurityPolicy, newNonce } from './lib/csp';

/**
 * Runs before every request but static assets:
 * - `/api/*` is rewritten to API_INTERNAL_URL at request time (same-origin access to the REST API). A rewrite in
 *   next.config would be frozen into the build output, but the API's address is only known when the stack starts.
 * - the well-known autoconfig/autodiscover paths (lib/autoconfig-paths.ts) are rewritten to the API's the same way.
 * - pages get a Content-Security-Policy with a fresh nonce; Next.js reads it from the request headers and puts it on
 *   the scripts it renders (pages are rendered per request: see app/layout.tsx).
 */
export function proxy(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  if (pathname === '/api' || pathname.startsWith('/api/')) {
    return NextResponse.rewrite(new URL(pathname + search, serverConfig().apiInternalUrl));
  }
  // Mail client autoconfiguration (Thunderbird, Outlook) is answered by the API's public endpoints.
  const autoconfig = autoconfigApiPath(pathname);
  if (autoconfig) return NextResponse.rewrite(new URL(autoconfig + search, serverConfig().apiInternalUrl));
  const policy = contentSecurityPolicy(newNonce(), process.env.NODE_ENV === 'development');
  const headers = new Headers(request.headers);
  headers.set('content-security-policy', policy);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set('content-security-policy', policy);
  return response;
}

export const config = {
  matcher: [
    '/api',
    '/api/:path*',
    // pages (prefetches included); not the build's static files
    { source: '/((?!_next/static|_next/image|favicon.ico).*)' },
  ],
};
