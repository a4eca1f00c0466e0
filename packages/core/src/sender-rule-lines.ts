/**
 * Reading a pasted list of senders, as the panel's import takes it (browser-safe: no dependencies). One sender per
 * line, optionally followed by its action (`spam.example block`, `spam.example,block`, tab or `;` also separate it),
 * so the list export's CSV (`pattern,action`, with csvCell's quoting and formula guard) reads again. Blank lines,
 * `#` comments and the export's header row are skipped. The patterns themselves are checked by the API.
 */

/** Rules one list (a domain's own, or one mailbox's) may hold: a list a person reads in the panel, not a blocklist feed. */
export const MAX_SENDER_RULES = 1000;

export type SenderRuleAction = 'allow' | 'block';

export interface SenderRuleLines {
  rules: { pattern: string; action: SenderRuleAction }[];
  /** The line (from 1) each rule came from, for reporting the API's per-entry errors. */
  lines: number[];
  /** Lines that could not be read: an unknown action, more than two fields, an unclosed quote. */
  problems: { line: number; message: string }[];
}

/** What csvCell puts before a cell a spreadsheet would run as a formula. */
const FORMULA_GUARD = /^'(?=[=+\-@\t\r])/;
const SEPARATOR = /^[\s,;]+/;

/** The first field of `line`: an RFC 4180 quoted cell or everything up to a separator; and the rest. */
function firstField(line: string): { field: string; rest: string } | undefined {
  if (!line.startsWith('"')) {
    const end = line.search(/[\s,;]/);
    return end < 0 ? { field: line, rest: '' } : { field: line.slice(0, end), rest: line.slice(end) };
  }
  let field = '';
  for (let i = 1; i < line.length; i++) {
    if (line[i] !== '"') field += line[i];
    else if (line[i + 1] !== '"') return { field, rest: line.slice(i + 1) };
    else {
      field += '"'; // "" inside a quoted cell
      i++;
    }
  }
  return undefined;
}

export function parseSenderRuleLines(text: string, defaultAction: SenderRuleAction, maxRules = MAX_SENDER_RULES): SenderRuleLines {
  const out: SenderRuleLines = { rules: [], lines: [], problems: [] };
  text.split(/\r\n|\r|\n/).forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (!trimmed || trimmed.startsWith('#') || /^"?pattern"?\s*[,;\t]\s*"?action"?$/i.test(trimmed)) return;
    const first = firstField(trimmed);
    if (!first) return out.problems.push({ line, message: 'a quote is not closed' });
    const tail = first.rest
      .replace(SEPARATOR, '')
      .replace(/^"(.*)"$/, '$1')
      .trim();
    const action = (tail || defaultAction).toLowerCase();
    if (action !== 'allow' && action !== 'block') {
      return out.problems.push({ line, message: `“${tail.slice(0, 40)}” is not an action: write block or allow after the sender` });
    }
    if (out.rules.length >= maxRules) return out.problems.push({ line, message: `more than ${maxRules} senders: split the list` });
    out.rules.push({ pattern: first.field.replace(FORMULA_GUARD, ''), action });
    out.lines.push(line);
  });
  return out;
}
