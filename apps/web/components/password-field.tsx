'use client';
import { useEffect, useRef, useState } from 'react';
import { useSession } from '@/lib/client';
import { generatePassword, passwordStrength } from '@/lib/validation';
import { CopyButton } from './copy-button';
import { buttonClass, cx, describedBy, Field, inputClass } from './ui';

const BAR = ['bg-red-600', 'bg-red-600', 'bg-amber-500', 'bg-green-600', 'bg-green-700'];

/**
 * New-password input with a generator, a show/hide toggle and live strength feedback. Uncontrolled: what was typed
 * before hydration stays in the input and is submitted with the form's FormData.
 */
export function PasswordField({
  id,
  name,
  label,
  onChange,
  error,
  generator = true,
  required = true,
}: {
  id: string;
  name: string;
  label: string;
  onChange?: (v: string) => void;
  error?: string;
  generator?: boolean;
  required?: boolean;
}) {
  const { minPasswordLength } = useSession();
  const [visible, setVisible] = useState(false);
  const [value, setValue] = useState('');
  const input = useRef<HTMLInputElement>(null);
  const change = (v: string) => {
    setValue(v);
    onChange?.(v);
  };
  useEffect(() => {
    // a form reset (after a success) empties the input: the strength line follows
    const form = input.current?.form;
    const cleared = () => setValue('');
    form?.addEventListener('reset', cleared);
    return () => form?.removeEventListener('reset', cleared);
  }, []);
  const s = passwordStrength(value, minPasswordLength);
  return (
    <Field id={id} label={label} error={error}>
      <div className="flex flex-wrap gap-2">
        <input
          id={id}
          name={name}
          type={visible ? 'text' : 'password'}
          autoComplete="new-password"
          spellCheck={false}
          ref={input}
          onChange={(e) => change(e.target.value)}
          className={cx(inputClass, 'min-w-0 flex-1 font-mono')}
          required={required}
          {...describedBy(id, error, true)}
        />
        <button
          type="button"
          className={buttonClass('secondary', 'sm')}
          onClick={() => setVisible((v) => !v)}
          aria-pressed={visible}
          aria-controls={id}
        >
          {visible ? 'Hide' : 'Show'}
        </button>
        {generator && (
          <button
            type="button"
            className={buttonClass('secondary', 'sm')}
            onClick={() => {
              const generated = generatePassword();
              if (input.current) input.current.value = generated;
              change(generated);
              setVisible(true);
            }}
          >
            Generate
          </button>
        )}
        {generator && value && <CopyButton value={value} label="password" />}
      </div>
      <div id={`${id}-hint`} className="mt-2" aria-live="polite">
        <div className="flex gap-1" aria-hidden="true">
          {[1, 2, 3, 4].map((i) => (
            <span key={i} className={cx('h-1 flex-1 rounded-full', value && s.score >= i ? BAR[s.score] : 'bg-slate-200')} />
          ))}
        </div>
        <p className="mt-1 text-xs text-slate-600">
          Strength: <span className="font-medium text-slate-800">{s.label}</span>
          {s.hint ? ` — ${s.hint}` : ''}
        </p>
      </div>
    </Field>
  );
}
