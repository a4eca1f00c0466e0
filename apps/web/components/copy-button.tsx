'use client';
import { useState } from 'react';
import { buttonClass } from './ui';

export function CopyButton({ value, label }: { value: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  async function copy() {
    try {
      await navigator.clipboard.writeText(value);
      setState('copied');
    } catch {
      setState('failed');
    }
    setTimeout(() => setState('idle'), 2000);
  }
  return (
    <button type="button" onClick={copy} className={buttonClass('secondary', 'sm')} aria-label={`Copy ${label}`}>
      <span aria-hidden="true">{state === 'copied' ? '✓' : '⧉'}</span>
      <span className="w-12 text-left">{state === 'copied' ? 'Copied' : state === 'failed' ? 'Select' : 'Copy'}</span>
      <span className="sr-only" role="status">
        {state === 'copied' ? `${label} copied` : state === 'failed' ? 'Copy failed; select the text instead' : ''}
      </span>
    </button>
  );
}
