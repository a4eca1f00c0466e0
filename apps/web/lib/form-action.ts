import 'server-only';
import { redirect } from 'next/navigation';
import { refresh } from 'next/cache';
import { apiSend } from './api';
import { CSRF_FIELD, refusedState, type FormState, type RefusalWording } from './forms';
import { toClientProblem } from './problems';

/**
 * How a server action submits one form to the API. Every panel form goes through `submitToApi`, so each one sends the
 * session cookie and the CSRF token its form carried, and answers the same FormState (components/api-form.tsx shows
 * it: one alert, field errors next to their inputs). The form's own FormData is the input, so a form posted by the
 * browser before hydration (no JavaScript yet) submits exactly what was typed.
 */
export interface SubmitSpec<T, D> extends RefusalWording {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Below /api/v1. */
  path: string;
  body?: unknown;
  /** Success: a path to go to, or what the form shows (a message, the answer). Default: refresh the page's data. */
  success?: (data: T) => string | { message?: string; data?: D; refresh?: boolean };
}

/** Ids the page rendered make up the path; a forged one (bound arguments come back from the browser) goes nowhere else. */
const SAFE_PATH = /^\/[\w\-./]*$/;

export async function submitToApi<T, D = unknown>(prev: FormState<D>, fd: FormData, spec: SubmitSpec<T, D>): Promise<FormState<D>> {
  if (!SAFE_PATH.test(spec.path) || spec.path.includes('..'))
    return refusedState(prev, fd, { status: 404, code: 'NOT_FOUND', title: 'Not found' });
  const csrf = fd.get(CSRF_FIELD);
  const r = await apiSend(spec.method, spec.path, spec.body, typeof csrf === 'string' && csrf ? csrf : null);
  const seq = prev.seq + 1;
  if (r.status >= 200 && r.status < 300) {
    const next = spec.success?.(r.data as T);
    if (typeof next === 'string') redirect(next);
    if (next?.refresh !== false) refresh();
    return {
      seq,
      ok: true,
      fields: {},
      ...(next?.message ? { message: next.message } : {}),
      ...(next?.data !== undefined ? { data: next.data } : {}),
    };
  }
  return refusedState(prev, fd, toClientProblem(r.status, r.data), spec);
}
