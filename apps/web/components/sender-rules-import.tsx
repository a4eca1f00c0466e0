'use client';
import { parseSenderRuleLines, type SenderRuleAction } from '@mailroom/core/sender-rule-lines';
import { useRouter } from 'next/navigation';
import { useId, useState } from 'react';
import { Alert, buttonClass, inputClass, labelClass } from '@/components/ui';
import { problemMessage, useApi } from '@/lib/client';
import { senderListPath } from '@/lib/sender-lists';
import type { SenderRuleImportIssue, SenderRuleImportReport } from '@/lib/types';
import { useHydrated } from '@/lib/use-hydrated';
import type { SenderRuleList } from './sender-rules';

/** A problem of one line of the pasted list: the panel's own reading, or the API's check of its pattern. */
type LineProblem = { line: number; message: string };

/** Largest file read into the list: 1,000 senders of at most 254 octets with an action, and room for comments. */
const MAX_FILE_BYTES = 512 * 1024;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function summary(r: SenderRuleImportReport): string {
  const parts = [`${plural(r.created, 'new sender')}`, `${r.updated} changed`, `${r.unchanged} already listed`];
  if (r.deleted) parts.push(`${r.deleted} removed`);
  return `${parts.join(', ')}; ${plural(r.total, 'rule')} in the list ${r.dryRun ? 'after the import' : 'now'}.`;
}

/**
 * Many senders at once: a pasted list (one per line, optionally with block or allow after it; the export's CSV reads
 * again), checked first, then imported; and the list's export as CSV.
 */
export function SenderRulesImport({ list }: { list: SenderRuleList }) {
  const api = useApi();
  const router = useRouter();
  const hydrated = useHydrated();
  const id = useId();
  const [text, setText] = useState('');
  const [defaultAction, setDefaultAction] = useState<SenderRuleAction>('block');
  const [replace, setReplace] = useState(false);
  const [busy, setBusy] = useState<'check' | 'import'>();
  const [problems, setProblems] = useState<LineProblem[]>([]);
  const [error, setError] = useState<string>();
  const [preview, setPreview] = useState<SenderRuleImportReport>();
  const [done, setDone] = useState<SenderRuleImportReport>();
  const base = senderListPath(list);

  /** Any change of the input or options makes an earlier check stale. */
  const reset = () => {
    setPreview(undefined);
    setDone(undefined);
    setProblems([]);
    setError(undefined);
  };

  async function send(dryRun: boolean) {
    setProblems([]);
    setError(undefined);
    setDone(undefined);
    if (dryRun) setPreview(undefined);
    const parsed = parseSenderRuleLines(text, defaultAction);
    if (parsed.problems.length) return setProblems(parsed.problems);
    if (!parsed.rules.length && !replace) return setError('Paste at least one sender, one per line.');
    setBusy(dryRun ? 'check' : 'import');
    const r = await api<SenderRuleImportReport>('POST', `${base}/import`, { rules: parsed.rules, replace, dryRun });
    setBusy(undefined);
    if (r.ok) {
      if (dryRun) setPreview(r.data);
      else {
        setPreview(undefined);
        setDone(r.data);
        setText('');
        router.refresh();
      }
      return;
    }
    const errors = (r.problem.details as { errors?: SenderRuleImportIssue[] } | undefined)?.errors;
    if (r.problem.code === 'IMPORT_INVALID' && errors) {
      const lineOf = (index: number) => parsed.lines[index] ?? index + 1;
      setProblems(
        errors.map((e) => ({
          line: lineOf(e.index),
          message:
            e.earlier === undefined
              ? `${e.pattern}: ${e.message}`
              : `${e.pattern} is the same sender as line ${lineOf(e.earlier)}, with the other action: keep one of the two`,
        })),
      );
    } else setError(problemMessage(r.problem));
  }

  return (
    <details className="group border-t border-slate-200 pt-4">
      <summary className="cursor-pointer text-sm font-semibold text-slate-900">Add many senders at once, or export the list</summary>
      <div className="mt-4 space-y-4">
        <div>
          <label htmlFor={`${id}-text`} className={labelClass}>
            Senders, one per line
          </label>
          <textarea
            id={`${id}-text`}
            rows={8}
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              reset();
            }}
            placeholder={'spam.example\nnews@shop.example allow\n.zip'}
            autoCapitalize="none"
            spellCheck={false}
            className={`${inputClass} mt-1 font-mono`}
            aria-describedby={`${id}-hint`}
          />
          <p id={`${id}-hint`} className="mt-1 text-xs text-slate-600">
            An address, a domain or a top-level domain as above, optionally followed by <code>block</code> or <code>allow</code>. A file
            exported here can be pasted back. Nothing changes until you import; senders already listed take the action given here.
          </p>
          <label htmlFor={`${id}-file`} className={`${labelClass} mt-3`}>
            Or read the list from a file (CSV or text)
          </label>
          <input
            id={`${id}-file`}
            type="file"
            accept=".csv,.txt,text/csv,text/plain"
            disabled={!hydrated}
            onChange={async (e) => {
              const file = e.target.files?.[0];
              e.target.value = '';
              if (!file) return;
              reset();
              if (file.size > MAX_FILE_BYTES)
                return setError(`${file.name} is over ${MAX_FILE_BYTES / 1024} KiB: a list holds at most 1,000 senders.`);
              setText(await file.text());
            }}
            className="mt-1 block text-sm text-slate-700 file:mr-3 file:rounded-md file:border-0 file:bg-slate-100 file:px-3 file:py-1.5 file:text-sm file:font-medium file:text-slate-900 hover:file:bg-slate-200"
          />
        </div>
        <div className="flex flex-wrap items-center gap-x-6 gap-y-2 text-sm text-slate-800">
          <label className="flex items-center gap-2">
            Lines without an action:
            <select
              value={defaultAction}
              onChange={(e) => {
                setDefaultAction(e.target.value as SenderRuleAction);
                reset();
              }}
              className="rounded-md border-0 py-1 pr-8 pl-2 ring-1 ring-slate-300 ring-inset"
            >
              <option value="block">block</option>
              <option value="allow">allow</option>
            </select>
          </label>
          <label className="flex items-center gap-2">
            <input
              type="checkbox"
              checked={replace}
              onChange={(e) => {
                setReplace(e.target.checked);
                reset();
              }}
              className="h-4 w-4 accent-brand-600"
            />
            Replace the list: remove senders not in it
          </label>
        </div>
        <div className="flex flex-wrap items-center gap-3">
          <button type="button" className={buttonClass('secondary', 'sm')} disabled={!hydrated || !!busy} onClick={() => send(true)}>
            {busy === 'check' ? 'Checking…' : 'Check list'}
          </button>
          {preview && (
            <button type="button" className={buttonClass('primary', 'sm')} disabled={!!busy} onClick={() => send(false)}>
              {busy === 'import' ? 'Importing…' : 'Import'}
            </button>
          )}
          <a href={`/api/v1${base}/export`} download className={`${buttonClass('ghost', 'sm')} ml-auto`}>
            Export CSV
          </a>
        </div>
        <div aria-live="polite" className="space-y-2">
          {error && <Alert>{error}</Alert>}
          {problems.length > 0 && (
            <div>
              <Alert>
                {plural(problems.length, 'line')} cannot be imported; nothing was changed. Correct {problems.length === 1 ? 'it' : 'them'}{' '}
                and check again.
              </Alert>
              <ul className="mt-2 max-h-60 list-disc overflow-auto pl-5 text-sm text-red-800">
                {problems.slice(0, 100).map((p) => (
                  <li key={`${p.line}-${p.message}`}>
                    Line {p.line}: {p.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
          {preview && (
            <div role="region" aria-label="Check result" className="text-sm text-slate-800">
              <p>Ready to import: {summary(preview)}</p>
              {preview.deletedPatterns.length > 0 && (
                <p className="mt-1 break-all text-slate-700">Removed: {preview.deletedPatterns.slice(0, 50).join(', ')}</p>
              )}
            </div>
          )}
          {done && <Alert tone="success">Imported: {summary(done)}</Alert>}
        </div>
      </div>
    </details>
  );
}
