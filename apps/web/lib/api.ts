import 'server-only';
import { cache } from 'react';
import { cookies, headers } from 'next/headers';
import { notFound, redirect } from 'next/navigation';
import { serverConfig } from './config';
import type { Me, Page, Problem } from './types';
import { CSRF_HEADER } from '@mailroom/core/schemas';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem> | undefined,
  ) {
    super(problem?.detail ?? problem?.title ?? `API answered ${status}`);
    this.name = 'ApiError';
  }
}

async function forwardHeaders(): Promise<Record<string, string>> {
  const jar = await cookies();
  const h = await headers();
  const out: Record<string, string> = { accept: 'application/json' };
  const cookie = jar.toString();
  if (cookie) out.cookie = cookie;
  const ua = h.get('user-agent');
  if (ua) out['user-agent'] = ua;
  // server.ts put the real client address and scheme here (the API believes them from this server only)
  for (const name of ['x-forwarded-for', 'x-forwarded-proto']) {
    const v = h.get(name);
    if (v) out[name] = v;
  }
  return out;
}

/** Raw GET against the API with the signed-in user's cookie; never throws on HTTP status. */
export async function apiGetRaw<T>(path: string): Promise<{ status: number; data?: T; problem?: Partial<Problem> }> {
  const res = await fetch(`${serverConfig().apiInternalUrl}/api/v1${path}`, { headers: await forwardHeaders(), cache: 'no-store' });
  const body: unknown = res.status === 204 ? undefined : await res.json().catch(() => undefined);
  if (res.ok) return { status: res.status, data: body as T };
  return { status: res.status, problem: body as Partial<Problem> | undefined };
}

/** Relays one Set-Cookie header of the API (session cookie on sign-in, cleared on sign-out) to the browser. */
async function relaySetCookie(header: string): Promise<void> {
  const [pair = '', ...attrs] = header.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return;
  const options: {
    path?: string;
    httpOnly?: boolean;
    secure?: boolean;
    sameSite?: 'lax' | 'strict' | 'none';
    maxAge?: number;
    expires?: Date;
    domain?: string;
  } = {};
  for (const attr of attrs) {
    const [k = '', v = ''] = attr.split('=').map((s) => s.trim());
    const key = k.toLowerCase();
    if (key === 'path') options.path = v;
    else if (key === 'httponly') options.httpOnly = true;
    else if (key === 'secure') options.secure = true;
    else if (key === 'samesite' && /^(lax|strict|none)$/i.test(v)) options.sameSite = v.toLowerCase() as 'lax' | 'strict' | 'none';
    else if (key === 'max-age' && /^-?\d+$/.test(v)) options.maxAge = Number(v);
    else if (key === 'expires' && !Number.isNaN(Date.parse(v))) options.expires = new Date(v);
    else if (key === 'domain') options.domain = v;
  }
  (await cookies()).set(pair.slice(0, eq).trim(), decodeURIComponent(pair.slice(eq + 1).trim()), options);
}

/**
 * A write for server actions (lib/form-action.ts): the visitor's cookie and the CSRF token their form carried, as the
 * browser itself would send them through the /api proxy; the API decides. Cookies the API sets reach the browser.
 */
export async function apiSend(
  method: string,
  path: string,
  body: unknown,
  csrfToken: string | null,
): Promise<{ status: number; data?: unknown }> {
  const h = await forwardHeaders();
  if (body !== undefined) h['content-type'] = 'application/json';
  if (csrfToken) h[CSRF_HEADER] = csrfToken;
  let res: Response;
  try {
    res = await fetch(`${serverConfig().apiInternalUrl}/api/v1${path}`, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      redirect: 'manual',
    });
  } catch {
    return { status: 502, data: { code: 'NETWORK', title: 'The API could not be reached.' } };
  }
  for (const c of res.headers.getSetCookie()) await relaySetCookie(c);
  return { status: res.status, data: res.status === 204 ? undefined : await res.json().catch(() => undefined) };
}

/**
 * GET for server components: 401 sends the user to sign in, 404 (including another tenant's resource, which the API
 * reports as not found) renders the not-found page, anything else unexpected throws to the error boundary.
 */
export async function apiGet<T>(path: string): Promise<T> {
  const r = await apiGetRaw<T>(path);
  refuseFailedGet(r);
  return r.data as T;
}

/** apiGet's answer to a failed GET: sign in, the not-found page, or the error boundary. */
function refuseFailedGet(r: { status: number; problem?: Partial<Problem> }): void {
  if (r.status === 401) redirect('/login');
  if (
    r.status === 404 ||
    (r.status === 400 && r.problem?.code === 'VALIDATION_FAILED' && /Id|params/i.test(JSON.stringify(r.problem.errors ?? '')))
  )
    notFound();
  if (r.status === 403) notFound();
  if (r.status >= 400) throw new ApiError(r.status, r.problem);
}

/**
 * GET of a filtered list for its page (`query`: the filters and cursor from the page's URL). A 400 about the query
 * alone (filters the API refused) comes back as `answer` with an empty page, for InvalidFiltersAlert to say why; any
 * other failure is apiGet's (sign in, not found — another tenant's list, a malformed id — or the error boundary).
 */
export async function apiGetFiltered<T>(
  path: string,
  query: Record<string, string | number | undefined | null>,
): Promise<{ answer: { status: number; problem?: Partial<Problem> }; page: Page<T> }> {
  const r = await apiGetRaw<Page<T>>(`${path}${qs(query)}`);
  const filtersRefused = r.status === 400 && !!r.problem?.errors?.length && r.problem.errors.every((e) => e.path.startsWith('query.'));
  if (!filtersRefused) refuseFailedGet(r);
  return { answer: r, page: r.data ?? { items: [], nextCursor: null } };
}

/** The signed-in principal, or null. Cached per request so layouts and pages share one call. */
export const getMe = cache(async (): Promise<Me | null> => {
  const jar = await cookies();
  if (jar.size === 0) return null;
  const r = await apiGetRaw<Me>('/me');
  if (r.status === 401 || r.status === 403) return null;
  if (r.status >= 400 || !r.data) throw new ApiError(r.status, r.problem);
  return r.data;
});

/** The principal, or a redirect to sign in. */
export async function requireMe(): Promise<Me> {
  const me = await getMe();
  if (!me) redirect('/login');
  return me;
}

export async function requireUser(role?: 'ADMIN' | 'OWNER'): Promise<Me & { user: NonNullable<Me['user']> }> {
  const me = await requireMe();
  if (!me.user || (role && me.user.role !== role)) notFound();
  return me as Me & { user: NonNullable<Me['user']> };
}

export function qs(params: Record<string, string | number | undefined | null>): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') sp.set(k, String(v));
  const s = sp.toString();
  return s ? `?${s}` : '';
}
