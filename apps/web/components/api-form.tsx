'use client';
import { startTransition, useActionState, useEffect, useRef, type ReactNode } from 'react';
import { useSession } from '@/lib/client';
import { CSRF_FIELD, INITIAL_FORM_STATE, type FormState } from '@/lib/forms';
import { useHydrated } from '@/lib/use-hydrated';
import { Alert, buttonClass, cx } from './ui';

/** A form's action: a server action (lib/form-action.ts's submitToApi), or a client one for browser-only work (WebAuthn). */
export type FormAction<D> = (prev: FormState<D>, fd: FormData) => Promise<FormState<D>>;

export interface FormApi<D> {
  state: FormState<D>;
  pending: boolean;
  /** Field errors of the last answer, by input name. */
  errors: Record<string, string>;
  /** An input's default value: what was typed before a server-rendered answer, else `initial`. */
  value: (name: string, initial?: string) => string;
}

/**
 * The panel's one way to submit a form. The form posts its own FormData to `action`:
 * - before hydration the browser posts it natively to the server action (a real `<form action>`), and the page comes
 *   back rendered with the answer, so what was typed before the scripts loaded is submitted, not lost;
 * - once hydrated, submitting runs the same action without reloading the page (and without React's reset of the
 *   inputs, so a refused form keeps what was typed).
 * Inputs are uncontrolled (`defaultValue={f.value(name)}`); the answer's sentence is shown in one place at the top
 * (role="alert" for a refusal, role="status" for `success`), field errors next to their inputs, and the submit button
 * is disabled while pending. Signed-in forms carry the session's CSRF token as a hidden field.
 */
export function ApiForm<D = unknown>({
  action,
  children,
  className,
  label,
  success,
  onAnswer,
  resetOnSuccess = false,
  needsScript = false,
  notice,
}: {
  action: FormAction<D>;
  children: (f: FormApi<D>) => ReactNode;
  className?: string;
  label?: string;
  /** The sentence shown after a success when the action gives none. */
  success?: string;
  /** Called once per answer, after it is rendered. */
  onAnswer?: (state: FormState<D>, form: HTMLFormElement) => void;
  /** Clears the inputs after a success (new passwords, one-time codes). */
  resetOnSuccess?: boolean;
  /** The form needs the browser itself (WebAuthn, a download): its controls stay disabled until hydrated. */
  needsScript?: boolean;
  /** A refusal to show before any answer (e.g. why the sign-in starts over). */
  notice?: string;
}) {
  const [state, formAction, pending] = useActionState<FormState<D>, FormData>(action, INITIAL_FORM_STATE);
  const { csrfToken } = useSession();
  const hydrated = useHydrated();
  const ref = useRef<HTMLFormElement>(null);
  const seen = useRef(0);
  useEffect(() => {
    if (state.seq === seen.current || !ref.current) return;
    seen.current = state.seq;
    if (state.ok && resetOnSuccess) ref.current.reset();
    onAnswer?.(state, ref.current);
  }, [state, onAnswer, resetOnSuccess]);
  const message = state.ok === false ? state.message : state.ok ? (state.message ?? success) : notice;
  return (
    <form
      ref={ref}
      action={formAction}
      onSubmit={(e) => {
        e.preventDefault();
        if (pending) return;
        const fd = new FormData(e.currentTarget, (e.nativeEvent as SubmitEvent).submitter);
        startTransition(() => formAction(fd));
      }}
      noValidate
      aria-label={label}
    >
      <fieldset
        disabled={needsScript && !hydrated}
        data-hydrating={needsScript && !hydrated ? true : undefined}
        className={cx('min-w-0', className)}
      >
        {csrfToken && <input type="hidden" name={CSRF_FIELD} value={csrfToken} />}
        {message && <Alert tone={state.ok ? 'success' : 'error'}>{message}</Alert>}
        {children({ state, pending, errors: state.fields, value: (name, initial = '') => state.values?.[name] ?? initial })}
      </fieldset>
    </form>
  );
}

/** Empties the named text inputs of a form, e.g. after a success while the other fields show what was saved. */
export function clearInputs(form: HTMLFormElement, names: string[]): void {
  for (const name of names) {
    const input = form.elements.namedItem(name);
    if (input instanceof HTMLInputElement) input.value = '';
  }
}

/** The submit button of an ApiForm: disabled and relabelled while the form is pending. */
export function SubmitButton({
  pending,
  label,
  pendingLabel,
  variant = 'primary',
  size = 'md',
  className,
  disabled,
}: {
  pending: boolean;
  label: string;
  pendingLabel: string;
  variant?: 'primary' | 'danger' | 'secondary';
  size?: 'sm' | 'md';
  className?: string;
  disabled?: boolean;
}) {
  return (
    <button type="submit" className={cx(buttonClass(variant, size), className)} disabled={pending || disabled}>
      {pending ? pendingLabel : label}
    </button>
  );
}
