'use client';
// Recovery codes, shown once after enrolment or regeneration: copy them all or download them as a text file.
import { buttonClass } from './ui';
import { CopyButton } from './copy-button';

export function RecoveryCodesList({ codes, account }: { codes: string[]; account: string }) {
  function download() {
    const text = `Mailroom recovery codes for ${account}\nEach code signs in once in place of a code from your app.\n\n${codes.join('\n')}\n`;
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'mailroom-recovery-codes.txt';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
  return (
    <div className="space-y-3" data-testid="recovery-codes">
      <p className="text-sm text-slate-700">
        Save these recovery codes somewhere safe. Each one signs you in once if you lose your phone.{' '}
        <strong>They are shown only now.</strong>
      </p>
      <ul
        aria-label="Recovery codes"
        className="grid grid-cols-2 gap-2 rounded-md bg-slate-50 p-4 font-mono text-sm text-slate-900 sm:grid-cols-5"
      >
        {codes.map((c) => (
          <li key={c}>{c}</li>
        ))}
      </ul>
      <div className="flex flex-wrap gap-2">
        <button type="button" className={buttonClass('secondary', 'sm')} onClick={download}>
          Download codes
        </button>
        <CopyButton value={codes.join('\n')} label="recovery codes" />
      </div>
    </div>
  );
}
