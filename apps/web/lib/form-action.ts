import 'server-only';
import { redirect } from 'next/navigation';
import { refresh } from 'next/cache';
import { apiSend } from './api';
import { CSRF_FIELD, typedValues, type FormState } from './forms';
import { fieldErrors, problemMessage, toClientProblem, type ClientProblem } from './problems';

/**
 * How a server action submits one form to the API. Every panel form goes through `submitToApi`, so each one sends the
 * session cookie and the CSRF token its form carried, and answers the same FormState (components/api-form.tsx shows
 * it: one alert, field errors next to their inputs). The form's own FormData is the input, so a form posted by the
 * browser before hydration (no JavaScript yet) submits exactly what was typed.
 */
export interface SubmitSpec<T> {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Below /api/v1. */
  path: string;
  body?: unknown;
  /** Success: a path to go to, or what the form shows (a message, the answer). Default: refresh the page's data. */
  success?: (data: T) => string | { message?: string; data?: unknown; refresh?: boolean };
  /** API field names whose errors belong to a differently named input (e.g. quotaBytes → quota). */
  inputs?: Record<string, string>;
  /** A refusal this form words itself: the alert's sentence and/or field errors (else the code's usual sentence). */
  refusal?: (p: ClientProblem) => { message?: string; fields?: Record<string, string> } | undefined;
}

/** The answer to a form that failed the panel's own first checks: field errors, nothing sent. */
export function invalidForm(prev: FormState, fd: FormData, fields: Record<string, string | undefined>): FormState<never> {
  const set = Object.fromEntries(Object.entries(fields).filter((e): e is [string, string] => !!e[1]));
  return { seq: prev.seq + 1, ok: false, message: 'Some fields need attention.', fields: set, code: 'VALIDATION_FAILED', values: typedValues(fd) };
}

/** True when the first checks found nothing (all values undefined). */
export function isValid(fields: Record<string, string | undefined>): boolean {
  return Object.values(fields).every((v) => !v);
}

/** A path below /api/v1 built from ids the page rendered: refuse anything else (the API authorizes the rest). */
function safePath(path: string): string {
  if (!/^\/[\w\-./?=&%]*$/.test(path) || path.includes('..')) throw new Error('bad API path in a form action');
  return path;
}

export async function submitToApi<T>(prev: FormState, fd: FormData, spec: SubmitSpec<T>): Promise<FormState> {
  const csrf = fd.get(CSRF_FIELD);
  const r = await apiSend(spec.method, safePath(spec.path), spec.body, typeof csrf === 'string' && csrf ? csrf : null);
  const seq = prev.seq + 1;
  if (r.status >= 200 && r.status < 300) {
    const next = spec.success?.(r.data as T);
    if (typeof next === 'string') redirect(next);
    if (next?.refresh !== false) refresh();
    return { seq, ok: true, fields: {}, message: next?.message, data: next?.data };
  }
  const problem = toClientProblem(r.status, r.data);
  const own = spec.refusal?.(problem);
  const fields: Record<string, string> = {};
  for (const [name, message] of Object.entries(fieldErrors(problem))) fields[spec.inputs?.[name] ?? name] ??= message;
  Object.assign(fields, own?.fields);
  return { seq, ok: false, message: own?.message ?? problemMessage(problem), fields, code: problem.code, details: problem.details, values: typedValues(fd) };
}
