'use client';
import { useId, useRef, useState, type ReactNode } from 'react';
import { useHydrated } from '@/lib/use-hydrated';
import { buttonClass } from './ui';

/**
 * A button that opens a modal confirmation (native <dialog>: focus is trapped and Escape cancels) naming what will be
 * lost. Optionally the user must type a word to enable the action.
 */
export function ConfirmButton({
  label,
  title,
  children,
  confirmLabel,
  confirmText,
  onConfirm,
  variant = 'danger',
}: {
  label: string;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  confirmText?: string;
  onConfirm: () => Promise<string | undefined>;
  variant?: 'danger' | 'secondary';
}) {
  const hydrated = useHydrated();
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  async function confirm() {
    setBusy(true);
    setError(undefined);
    const err = await onConfirm();
    setBusy(false);
    if (err) setError(err);
    else ref.current?.close();
  }
  return (
    <>
      <button type="button" disabled={!hydrated} className={buttonClass(variant, 'sm')} onClick={() => ref.current?.showModal()}>
        {label}
      </button>
      <dialog
        ref={ref}
        aria-labelledby={`${id}-t`}
        className="m-auto w-[calc(100%-2rem)] max-w-md rounded-lg bg-white p-0 shadow-xl"
        onClose={() => setTyped('')}
      >
        <div className="p-6">
          <h2 id={`${id}-t`} className="text-lg font-semibold text-slate-900">
            {title}
          </h2>
          <div className="mt-2 space-y-2 text-sm text-slate-700">{children}</div>
          {confirmText && (
            <div className="mt-4">
              <label htmlFor={`${id}-c`} className="block text-sm font-medium text-slate-800">
                Type <span className="font-mono font-semibold">{confirmText}</span> to confirm
              </label>
              <input
                id={`${id}-c`}
                value={typed}
                onChange={(e) => setTyped(e.target.value)}
                autoComplete="off"
                className="mt-1 block w-full rounded-md px-3 py-2 text-sm ring-1 ring-slate-300 ring-inset"
              />
            </div>
          )}
          {error && (
            <p role="alert" className="mt-3 text-sm font-medium text-red-700">
              {error}
            </p>
          )}
          <div className="mt-6 flex justify-end gap-2">
            <button type="button" className={buttonClass('secondary')} onClick={() => ref.current?.close()} autoFocus>
              Cancel
            </button>
            <button
              type="button"
              className={buttonClass(variant)}
              disabled={busy || (!!confirmText && typed.trim() !== confirmText)}
              onClick={confirm}
            >
              {busy ? 'Working…' : confirmLabel}
            </button>
          </div>
        </div>
      </dialog>
    </>
  );
}
