'use client';
import { useRouter } from 'next/navigation';
import { useId, useRef, useState } from 'react';
import { Alert, buttonClass, labelClass } from '@/components/ui';
import { CSRF_HEADER, useSession } from '@/lib/client';
import { downloadCsv, passwordsCsv } from '@/lib/csv-download';
import type { MailboxImportIssue, MailboxImportReport, Problem } from '@/lib/types';

type Phase =
  { kind: 'idle' } | { kind: 'uploading'; sent: number; total: number; dryRun: boolean } | { kind: 'processing'; dryRun: boolean };
type Outcome =
  | { ok: true; report: MailboxImportReport }
  | { ok: false; problem: Partial<Problem> & { details?: { errors?: MailboxImportIssue[]; errorCount?: number } } };

/**
 * POSTs the CSV with XMLHttpRequest, whose upload events give a determinate progress bar while the file is sent; while
 * the server checks and hashes, the bar is indeterminate.
 */
function postCsv(url: string, file: File, csrf: string | null, onPhase: (p: Phase) => void, dryRun: boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('content-type', 'text/csv');
    xhr.setRequestHeader('accept', 'application/json');
    if (csrf) xhr.setRequestHeader(CSRF_HEADER, csrf);
    xhr.upload.onprogress = (e) => onPhase({ kind: 'uploading', sent: e.loaded, total: e.total || file.size, dryRun });
    xhr.upload.onload = () => onPhase({ kind: 'processing', dryRun });
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = {};
      }
      resolve(
        xhr.status >= 200 && xhr.status < 300
          ? { ok: true, report: body as MailboxImportReport }
          : { ok: false, problem: body as Outcome extends { ok: false; problem: infer P } ? P : never },
      );
    };
    xhr.onerror = () =>
      resolve({ ok: false, problem: { detail: 'The server could not be reached. Check your connection and try again.' } });
    onPhase({ kind: 'uploading', sent: 0, total: file.size, dryRun });
    xhr.send(file);
  });
}

function IssueTable({ issues, total }: { issues: MailboxImportIssue[]; total: number }) {
  return (
    <div className="mt-3 max-h-80 overflow-auto rounded-md ring-1 ring-slate-200">
      <table className="min-w-full text-left text-sm">
        <caption className="sr-only">Rows that cannot be imported</caption>
        <thead className="sticky top-0 bg-slate-50 text-xs font-semibold tracking-wide text-slate-600 uppercase">
          <tr>
            <th scope="col" className="px-3 py-2">
              Row
            </th>
            <th scope="col" className="px-3 py-2">
              Field
            </th>
            <th scope="col" className="px-3 py-2">
              Problem
            </th>
            <th scope="col" className="px-3 py-2">
              Code
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {issues.map((i, n) => (
            <tr key={n}>
              <td className="px-3 py-1.5 tabular-nums">{i.row}</td>
              <td className="px-3 py-1.5">{i.field || '—'}</td>
              <td className="px-3 py-1.5">{i.message}</td>
              <td className="px-3 py-1.5 font-mono text-xs">{i.code}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {total > issues.length && <p className="px-3 py-2 text-sm text-slate-600">… and {total - issues.length} more.</p>}
    </div>
  );
}

/** Import (check first, then import) and export of the domain's mailboxes as CSV. */
export function MailboxImportExport({ domainId, domainName }: { domainId: string; domainName: string }) {
  const { csrfToken } = useSession();
  const router = useRouter();
  const id = useId();
  const fileRef = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File>();
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [preview, setPreview] = useState<MailboxImportReport>();
  const [done, setDone] = useState<MailboxImportReport>();
  const [error, setError] = useState<{ text: string; issues?: MailboxImportIssue[]; total?: number }>();
  const [skipInvalid, setSkipInvalid] = useState(false);
  const busy = phase.kind !== 'idle';
  const url = `/api/v1/domains/${domainId}/mailboxes/import`;

  async function send(dryRun: boolean) {
    if (!file) return;
    setError(undefined);
    if (!dryRun) setDone(undefined);
    const out = await postCsv(`${url}?dryRun=${dryRun}&skipInvalid=${skipInvalid}`, file, csrfToken, setPhase, dryRun);
    setPhase({ kind: 'idle' });
    if (!out.ok) {
      const p = out.problem;
      setError({ text: p.detail ?? p.title ?? 'The import failed.', issues: p.details?.errors, total: p.details?.errorCount });
      return;
    }
    if (dryRun) {
      setPreview(out.report);
      return;
    }
    setPreview(undefined);
    setDone(out.report);
    if (out.report.generatedPasswords.length) downloadCsv(`passwords-${domainName}.csv`, passwordsCsv(out.report.generatedPasswords));
    router.refresh();
  }

  return (
    <div className="mb-6 space-y-3 rounded-md border border-slate-200 p-4">
      <div className="flex flex-wrap items-end gap-3">
        <div>
          <label htmlFor={`${id}-file`} className={labelClass}>
            Import mailboxes from CSV
          </label>
          <input
            ref={fileRef}
            id={`${id}-file`}
            type="file"
            accept=".csv,text/csv"
            className="mt-1 block text-sm"
            aria-describedby={`${id}-hint`}
            onChange={(e) => {
              setFile(e.target.files?.[0]);
              setPreview(undefined);
              setDone(undefined);
              setError(undefined);
            }}
          />
        </div>
        <button type="button" className={buttonClass('secondary', 'sm')} disabled={!file || busy} onClick={() => send(true)}>
          Check file
        </button>
        <a href={`/api/v1/domains/${domainId}/mailboxes/export`} download className={buttonClass('ghost', 'sm') + ' ml-auto'}>
          Export CSV
        </a>
      </div>
      <p id={`${id}-hint`} className="text-xs text-slate-600">
        Header row with <code>address</code> (required), <code>password</code> (empty: generated), <code>displayName</code>,{' '}
        <code>quota</code> (e.g. 2 GB, unlimited), <code>enabled</code> (yes/no). The file is checked first; nothing is written until you
        import.
      </p>

      {phase.kind !== 'idle' && (
        <div role="status" aria-live="polite" className="space-y-1">
          <p className="text-sm text-slate-700">
            {phase.kind === 'uploading'
              ? `Uploading ${Math.round((phase.sent / Math.max(1, phase.total)) * 100)}%…`
              : phase.dryRun
                ? 'Checking every row…'
                : 'Importing: hashing passwords and creating mailboxes…'}
          </p>
          {phase.kind === 'uploading' ? (
            <progress className="h-2 w-full" max={Math.max(1, phase.total)} value={phase.sent} aria-label="Upload progress" />
          ) : (
            <progress className="h-2 w-full" aria-label="Import in progress" />
          )}
        </div>
      )}

      {error && (
        <div>
          <Alert>{error.text}</Alert>
          {error.issues && <IssueTable issues={error.issues} total={error.total ?? error.issues.length} />}
        </div>
      )}

      {preview && (
        <div role="region" aria-label="Check result">
          <p className="text-sm text-slate-800">
            {preview.rows} row{preview.rows === 1 ? '' : 's'}: <strong>{preview.valid} valid</strong>, {preview.invalid} invalid
            {preview.passwordsToGenerate
              ? ` · ${preview.passwordsToGenerate} password${preview.passwordsToGenerate === 1 ? '' : 's'} will be generated`
              : ''}
            .
          </p>
          {preview.errorCount > 0 && <IssueTable issues={preview.errors} total={preview.errorCount} />}
          <div className="mt-3 flex flex-wrap items-center gap-3">
            {preview.invalid > 0 && (
              <label className="flex items-center gap-2 text-sm">
                <input type="checkbox" checked={skipInvalid} onChange={(e) => setSkipInvalid(e.target.checked)} /> Skip the invalid rows
              </label>
            )}
            <button
              type="button"
              className={buttonClass('primary', 'sm')}
              disabled={busy || preview.valid === 0 || (preview.invalid > 0 && !skipInvalid)}
              onClick={() => send(false)}
            >
              Import {preview.invalid > 0 && !skipInvalid ? '' : `${preview.valid} `}mailbox{preview.valid === 1 ? '' : 'es'}
            </button>
          </div>
        </div>
      )}

      {done && (
        <div>
          <Alert tone="success">
            Imported {done.created} mailbox{done.created === 1 ? '' : 'es'}
            {done.invalid ? `; ${done.invalid} invalid row${done.invalid === 1 ? ' was' : 's were'} skipped` : ''}.
            {done.generatedPasswords.length
              ? ' The generated passwords were downloaded as a CSV file: keep it, they cannot be retrieved after you leave this page.'
              : ''}
          </Alert>
          {done.generatedPasswords.length > 0 && (
            <button
              type="button"
              className={buttonClass('secondary', 'sm') + ' mt-2'}
              onClick={() => downloadCsv(`passwords-${domainName}.csv`, passwordsCsv(done.generatedPasswords))}
            >
              Download the passwords again
            </button>
          )}
          {done.errorCount > 0 && <IssueTable issues={done.errors} total={done.errorCount} />}
        </div>
      )}
    </div>
  );
}
