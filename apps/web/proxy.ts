import { NextResponse, type NextRequest } from 'next/server';
import { serverConfig } from './lib/config';

/**
 * Same-origin access to the REST API: `/api/*` is rewritten to API_INTERNAL_URL at request time. A rewrite in
 * next.config would be frozen into the build output, but the API's address is only known when the stack starts.
 */
export function proxy(request: NextRequest) {
  const target = new URL(request.nextUrl.pathname + request.nextUrl.search, serverConfig().apiInternalUrl);
  return NextResponse.rewrite(target);
}

export const config = { matcher: ['/api', '/api/:path*'] };
