import { AppError, type FieldIssue } from '../errors.ts';
import { MAX_PASSWORD_LENGTH } from '../schemas/common.ts';
import { COMMON_PASSWORDS } from './common-passwords.ts';

export const DEFAULT_PASSWORD_MIN_LENGTH = 10;

export interface PasswordPolicy {
  minLength: number;
}

/**
 * Returns why a new password is refused (empty when acceptable): too short, too long, one of the most common
 * passwords, or built from the account name.
 */
export function checkPasswordPolicy(
  password: string,
  policy: PasswordPolicy,
  context: { account?: string; path?: string } = {},
): FieldIssue[] {
  const path = context.path ?? 'password';
  const issues: FieldIssue[] = [];
  const length = [...password].length;
  if (length < policy.minLength) issues.push({ path, code: 'too_short', message: `must be at least ${policy.minLength} characters` });
  if (length > MAX_PASSWORD_LENGTH) issues.push({ path, code: 'too_long', message: `must be at most ${MAX_PASSWORD_LENGTH} characters` });
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower) || COMMON_PASSWORDS.has(lower.replace(/[\d!@#$%^&*.?_-]+$/, ''))) {
    if (COMMON_PASSWORDS.has(lower) || lower.replace(/[\d!@#$%^&*.?_-]+$/, '').length >= 6) {
      issues.push({ path, code: 'too_common', message: 'is one of the most common passwords' });
    }
  }
  if (context.account) {
    const account = context.account.toLowerCase();
    const local = account.split('@')[0] ?? account;
    if (lower === account || (local.length >= 3 && lower.includes(local) && lower.replace(local, '').length < 6)) {
      issues.push({ path, code: 'contains_account', message: 'must not be the account name' });
    }
  }
  if (/^(.)\1*$/u.test(password)) issues.push({ path, code: 'too_simple', message: 'must not repeat one character' });
  return issues;
}

export function assertPasswordPolicy(password: string, policy: PasswordPolicy, context: { account?: string; path?: string } = {}): void {
  const fields = checkPasswordPolicy(password, policy, context);
  if (fields.length) throw new AppError('PASSWORD_TOO_WEAK', 'The password does not meet the password policy', { fields });
}
