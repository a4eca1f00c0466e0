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
    const rule = (mailbox: boolean | null, domain: boolean | null, operatorDefault: boolean) =>
      appPasswordsRequired({ mailbox, domain, operatorDefault, userRequired: false });
    expect(rule(null, null, false)).toBe(false);
    expect(rule(null, null, true)).toBe(true);
    expect(rule(true, false, false)).toBe(true);
    expect(rule(false, true, false)).toBe(true);
    expect(rule(false, null, true)).toBe(false);
    expect(rule(null, false, true)).toBe(false);
  });

  test("policy: the mailbox user's opt-in only tightens: it requires app passwords, and without it nothing is lifted", () => {
    const settings = [true, false, null] as const;
    for (const mailbox of settings)
      for (const domain of settings)
        for (const operatorDefault of [true, false]) {
          const without = appPasswordsRequired({ mailbox, domain, operatorDefault, userRequired: false });
          // Opting in always requires them, whatever the owner, the domain or the operator said (even an explicit false).
          expect(
            appPasswordsRequired({ mailbox, domain, operatorDefault, userRequired: true }),
            `${mailbox}/${domain}/${operatorDefault}`,
          ).toBe(true);
          // Not opting in leaves exactly what the owner, the domain and the operator decided.
          expect(without).toBe(mailbox === true || domain === true || (mailbox ?? domain ?? operatorDefault));
        }
    // The attack the split closes: the owner said true, or the operator default says true; the user's "no" is no input.
    expect(appPasswordsRequired({ mailbox: true, domain: null, operatorDefault: false, userRequired: false })).toBe(true);
    expect(appPasswordsRequired({ mailbox: null, domain: null, operatorDefault: true, userRequired: false })).toBe(true);
  });
});
