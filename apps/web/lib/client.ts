'use client';
import { createContext, useCallback, useContext } from 'react';
import { toClientProblem, type ClientProblem } from './problems';

export { fieldErrors, problemMessage, type ClientProblem } from './problems';

export const CSRF_HEADER = 'x-csrf-token';

export interface SessionInfo {
  csrfToken: string | null;
  minPasswordLength: number;
}

export const SessionContext = createContext<SessionInfo>({ csrfToken: null, minPasswordLength: 12 });

export function useSession(): SessionInfo {
  return useContext(SessionContext);
}

export type ApiResult<T> = { ok: true; status: number; data: T } | { ok: false; status: number; problem: ClientProblem };

/** Calls the API same-origin (the panel proxies /api to it) with the session cookie and the CSRF token. */
export async function callApi<T>(method: string, path: string, body: unknown, csrfToken: string | null): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (csrfToken) headers[CSRF_HEADER] = csrfToken;
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    return {
      ok: false,
      status: 0,
      problem: { status: 0, code: 'NETWORK', title: 'The server could not be reached. Check your connection and try again.' },
    };
  }
  const data: unknown = res.status === 204 ? undefined : await res.json().catch(() => undefined);
  if (res.ok) return { ok: true, status: res.status, data: data as T };
  return { ok: false, status: res.status, problem: toClientProblem(res.status, data) };
}

export function useApi() {
  const { csrfToken } = useSession();
  return useCallback(<T>(method: string, path: string, body?: unknown) => callApi<T>(method, path, body, csrfToken), [csrfToken]);
}
