import { describe, expect, test } from 'vitest';
import { csvLine } from './csv.ts';
import { parseSenderRuleLines } from './sender-rule-lines.ts';

describe('parseSenderRuleLines', () => {
  test('one sender per line, with or without its action, in the separators people paste', () => {
    const text = [
      'spam.example',
      '  news@shop.example   allow ',
      'a.example,block',
      'b.example;ALLOW',
      'c.example\tblock',
      '',
      '# a comment',
      '*.zip',
    ].join('\n');
    const r = parseSenderRuleLines(text, 'block');
    expect(r.problems).toEqual([]);
    expect(r.rules).toEqual([
      { pattern: 'spam.example', action: 'block' },
      { pattern: 'news@shop.example', action: 'allow' },
      { pattern: 'a.example', action: 'block' },
      { pattern: 'b.example', action: 'allow' },
      { pattern: 'c.example', action: 'block' },
      { pattern: '*.zip', action: 'block' },
    ]);
    expect(r.lines).toEqual([1, 2, 3, 4, 5, 8]);
    expect(parseSenderRuleLines('x.example', 'allow').rules).toEqual([{ pattern: 'x.example', action: 'allow' }]);
  });

  test('the export reads again: its header skipped, CRLF, quoted cells and the formula guard undone', () => {
    const rows: [string, string][] = [
      ['=cmd@evil.example', 'allow'],
      ['"a,b"@quoted.example', 'block'],
      ['-dash@x.example', 'block'],
      ["o'brien@x.example", 'allow'],
    ];
    const csv = csvLine(['pattern', 'action']) + rows.map((r) => csvLine(r)).join('');
    const r = parseSenderRuleLines(csv, 'block');
    expect(r.problems).toEqual([]);
    expect(r.rules.map((x) => [x.pattern, x.action])).toEqual(rows);
  });

  test('what cannot be read is reported by line, and the rest is kept', () => {
    const r = parseSenderRuleLines('ok.example\nbad.example reject\n"unclosed@x.example\nthree.example block extra\nfine.example', 'block');
    expect(r.rules.map((x) => x.pattern)).toEqual(['ok.example', 'fine.example']);
    expect(r.lines).toEqual([1, 5]);
    expect(r.problems.map((p) => p.line)).toEqual([2, 3, 4]);
    expect(r.problems[0]!.message).toMatch(/not an action/);
    expect(r.problems[1]!.message).toMatch(/quote/);
  });

  test('at most maxRules senders; the lines past it are problems', () => {
    const r = parseSenderRuleLines(Array.from({ length: 5 }, (_, i) => `s${i}.example`).join('\n'), 'block', 3);
    expect(r.rules).toHaveLength(3);
    expect(r.problems).toEqual([
      { line: 4, message: expect.stringMatching(/more than 3/) },
      { line: 5, message: expect.stringMatching(/more than 3/) },
    ]);
  });
});
