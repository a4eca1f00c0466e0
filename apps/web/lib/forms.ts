// The one shape of a panel form's answer, shared by the form component (components/api-form.tsx) and the server
// actions that submit forms to the API (lib/form-action.ts). No directive: both sides import it.
import { fieldErrors, problemMessage, type ClientProblem } from './problems';

/** The hidden field that carries the session's CSRF token in every signed-in form; the action sends it as x-csrf-token. */
export const CSRF_FIELD = 'csrfToken';

export interface FormState<D = unknown> {
  /** Counts answers, so a form can react to each one (clear a field, call back). */
  seq: number;
  /** null before the first answer. */
  ok: boolean | null;
  /** The one sentence of the form's alert (role="alert" on failure, role="status" on success). */
  message?: string;
  /** Field errors by input name. */
  fields: Record<string, string>;
  /** The API's stable error code of a refusal. */
  code?: ClientProblem['code'];
  details?: Record<string, unknown>;
  /** What was typed (never passwords, codes or tokens): refills the form after a submission made before hydration. */
  values?: Record<string, string>;
  /** The API's answer on success (e.g. a secret shown once). */
  data?: D;
}

export const INITIAL_FORM_STATE: FormState<never> = { seq: 0, ok: null, fields: {} };

/** A text input's value, trimmed ('' when absent). */
export function field(fd: FormData, name: string): string {
  const v = fd.get(name);
  return typeof v === 'string' ? v.trim() : '';
}

/** A text input's value as typed (passwords, secrets): not trimmed. */
export function secret(fd: FormData, name: string): string {
  const v = fd.get(name);
  return typeof v === 'string' ? v : '';
}

/** A trimmed text input, or null when empty (the API's "clear this"). */
export function optionalField(fd: FormData, name: string): string | null {
  return field(fd, name) || null;
}

/** A checkbox: present in the form data when ticked. */
export function checked(fd: FormData, name: string): boolean {
  return fd.has(name);
}

const SECRET_NAME = /password|secret|code|token|csrf|^\$/i;

/** The non-secret text values of a submission, to show them again when the page is rendered from the server. */
export function typedValues(fd: FormData): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of fd.entries()) if (typeof v === 'string' && !SECRET_NAME.test(k) && !(k in out)) out[k] = v;
  return out;
}

/** How a form words a refusal: API field names that belong to differently named inputs, and its own sentences. */
export interface RefusalWording {
  /** API field names whose errors belong to a differently named input (e.g. quotaBytes → quota). */
  inputs?: Record<string, string>;
  /** A refusal this form words itself: the alert's sentence and/or field errors (else the code's usual sentence). */
  refusal?: (p: ClientProblem) => { message?: string; fields?: Record<string, string> } | undefined;
}

/** The answer to a refused submission: the one sentence, field errors by input name, the code, what was typed. */
export function refusedState<D>(prev: FormState<D>, fd: FormData, problem: ClientProblem, wording: RefusalWording = {}): FormState<D> {
  const own = wording.refusal?.(problem);
  const fields: Record<string, string> = {};
  for (const [name, message] of Object.entries(fieldErrors(problem))) fields[wording.inputs?.[name] ?? name] ??= message;
  Object.assign(fields, own?.fields);
  return {
    seq: prev.seq + 1,
    ok: false,
    message: own?.message ?? problemMessage(problem),
    fields,
    code: problem.code,
    ...(problem.details ? { details: problem.details } : {}),
    values: typedValues(fd),
  };
}

/** The answer to a form that failed the panel's own first checks: field errors, nothing sent. */
export function invalidForm(prev: FormState, fd: FormData, fields: Record<string, string | undefined>): FormState<never> {
  const set = Object.fromEntries(Object.entries(fields).filter((e): e is [string, string] => !!e[1]));
  return {
    seq: prev.seq + 1,
    ok: false,
    message: 'Some fields need attention.',
    fields: set,
    code: 'VALIDATION_FAILED',
    values: typedValues(fd),
  };
}

/** True when the first checks found nothing (all values undefined). */
export function isValid(fields: Record<string, string | undefined>): boolean {
  return Object.values(fields).every((v) => !v);
}
