// Browser-side first checks. The address rules are core's own (@mailroom/core/address-rules, no zod, so nothing heavy
// reaches the client bundle); the API remains the authority: its problem+json field errors are shown next to the fields.
export { localPartProblem, looksLikeDomainName, MAX_LOCAL_PART_OCTETS } from '@mailroom/core/address-rules';

export interface Strength {
  score: 0 | 1 | 2 | 3 | 4;
  label: string;
  hint?: string;
}

const COMMON = [
  'password',
  '123456',
  'qwerty',
  'letmein',
  'welcome',
  'admin',
  'mailroom',
  'iloveyou',
  'monkey',
  'dragon',
  'abc123',
  'football',
];

/** A rough, dependency-free strength estimate for feedback while typing (the server applies the real policy). */
export function passwordStrength(pw: string, minLength: number): Strength {
  if (!pw) return { score: 0, label: 'Empty', hint: `Use at least ${minLength} characters.` };
  const lower = pw.toLowerCase();
  if (COMMON.some((c) => lower.includes(c)) && pw.length < 16)
    return { score: 0, label: 'Too common', hint: 'Avoid common words and sequences.' };
  if (pw.length < minLength) return { score: 0, label: 'Too short', hint: `Use at least ${minLength} characters.` };
  let pool = 0;
  if (/[a-z]/.test(pw)) pool += 26;
  if (/[A-Z]/.test(pw)) pool += 26;
  if (/\d/.test(pw)) pool += 10;
  if (/[^A-Za-z0-9]/.test(pw)) pool += 33;
  const unique = new Set(pw).size;
  const bits = Math.log2(Math.max(pool, 2)) * Math.min(pw.length, unique * 2);
  if (bits < 40) return { score: 1, label: 'Weak', hint: 'Make it longer or mix in other kinds of characters.' };
  if (bits < 60) return { score: 2, label: 'Fair', hint: 'A few more characters would make it strong.' };
  if (bits < 80) return { score: 3, label: 'Good' };
  return { score: 4, label: 'Strong' };
}

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** A random password from the browser's CSPRNG: 20 characters in groups, easy to read aloud (~115 bits). */
export function generatePassword(length = 20): string {
  const out: string[] = [];
  const buf = new Uint32Array(length);
  crypto.getRandomValues(buf);
  for (let i = 0; i < length; i++) out.push(ALPHABET[buf[i]! % ALPHABET.length]!);
  return out.join('').replace(/(.{5})(?!$)/g, '$1-');
}

// Mirror core's loginDelaySecondsSchema / retentionDaysSchema bounds (the API stays the authority).
export const MAX_LOGIN_DELAY_SECONDS = 86_400;
export const MAX_RETENTION_DAYS = 36_500;

/** A whole number from 0 to `max` typed into a field, or undefined. */
export function wholeNumber(v: string, max: number): number | undefined {
  const t = v.trim();
  return /^\d{1,6}$/.test(t) && Number(t) <= max ? Number(t) : undefined;
}
