import { describe, expect, test } from 'vitest';
import { appPasswordsRequired, generateAppPassword, parseAppPassword } from './app-passwords.ts';

describe('app password format', () => {
  test('six groups of four lowercase letters; the first group is the selector; fresh each time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const g = generateAppPassword();
      expect(g.password).toMatch(/^[a-z]{4}(-[a-z]{4}){5}$/);
      expect(g.canonical).toBe(g.password.replace(/-/g, ''));
      expect(g.selector).toBe(g.password.slice(0, 4));
      seen.add(g.canonical);
    }
    expect(seen.size).toBe(200);
  });

  test('typing: case, spaces and dashes do not matter; anything else is no app password', () => {
    const g = generateAppPassword();
    for (const typed of [g.password, g.password.toUpperCase(), g.password.replace(/-/g, ' '), g.canonical, ` ${g.password} `]) {
      expect(parseAppPassword(typed)).toEqual({ canonical: g.canonical, selector: g.selector });
    }
    for (const other of [
      'correct horse battery staple',
      g.canonical.slice(1),
      `${g.canonical}a`,
      `${g.canonical.slice(0, 23)}1`,
      'ä'.repeat(24),
      '',
    ]) {
      expect(parseAppPassword(other)).toBeUndefined();
    }
  });

  test('policy: a true on mailbox or domain requires; else an explicit false allows; else the operator default', () => {
    expect(appPasswordsRequired(null, null, false)).toBe(false);
    expect(appPasswordsRequired(null, null, true)).toBe(true);
    expect(appPasswordsRequired(true, false, false)).toBe(true);
    expect(appPasswordsRequired(false, true, false)).toBe(true);
    expect(appPasswordsRequired(false, null, true)).toBe(false);
    expect(appPasswordsRequired(null, false, true)).toBe(false);
  });
});
