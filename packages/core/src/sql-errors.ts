/**
 * The one SQL-error classifier. Prisma (P-codes), the pg driver (SQLSTATE `code`), the pg adapter (`originalCode`,
 * `meta.code`, `meta.driverAdapterError`) and Node (errno codes) each put the code somewhere else, and wrap errors in
 * `cause`: every check walks that chain once, here. Dependency-free so it stays importable anywhere.
 */

/** SQLSTATEs and Prisma codes the services test for. */
export const SQL_ERROR_CODES = {
  UNIQUE_VIOLATION: '23505',
  DIVISION_BY_ZERO: '22012',
  SERIALIZATION_FAILURE: '40001',
  DEADLOCK_DETECTED: '40P01',
  PRISMA_UNIQUE_VIOLATION: 'P2002',
  PRISMA_RECORD_NOT_FOUND: 'P2025',
} as const;

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  'P1001',
  'P1002',
  'P1017',
  'P2024',
  'DB_POOL_TIMEOUT',
]);
const UNAVAILABLE_MESSAGE =
  /ECONNREFUSED|Connection terminated|connection timeout|Can't reach database|DatabaseNotReachable|the database system is (shutting down|starting up)|timeout exceeded when trying to connect/i;

interface ErrorShape {
  code?: unknown;
  originalCode?: unknown;
  message?: unknown;
  meta?: { code?: unknown; driverAdapterError?: unknown };
  cause?: unknown;
}

/** Every error in the chain (the error, its `cause`s and the adapter's `meta.driverAdapterError`s), each once. */
function errorChain(err: unknown): ErrorShape[] {
  const out: ErrorShape[] = [];
  const queue: unknown[] = [err];
  const seen = new Set<unknown>();
  while (queue.length) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const o = e as ErrorShape;
    out.push(o);
    queue.push(o.cause, o.meta?.driverAdapterError);
  }
  return out;
}

/** Every code (Prisma P-code, SQLSTATE, errno) found anywhere in the error's chain. */
export function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  for (const o of errorChain(err)) {
    for (const c of [o.code, o.originalCode, o.meta?.code]) if (typeof c === 'string') codes.push(c);
  }
  return codes;
}

/** True when some code in the chain is `code` (or matches it, for a SQLSTATE class such as /^22/). */
export function hasErrorCode(err: unknown, code: string | RegExp): boolean {
  return errorCodes(err).some((c) => (typeof code === 'string' ? c === code : code.test(c)));
}

/** A unique constraint refused the row (Prisma P2002, or SQLSTATE 23505 from raw SQL). */
export function isUniqueViolation(err: unknown): boolean {
  return hasErrorCode(err, SQL_ERROR_CODES.PRISMA_UNIQUE_VIOLATION) || hasErrorCode(err, SQL_ERROR_CODES.UNIQUE_VIOLATION);
}

/** Prisma found no row to update or delete (P2025). */
export function isRecordNotFound(err: unknown): boolean {
  return hasErrorCode(err, SQL_ERROR_CODES.PRISMA_RECORD_NOT_FOUND);
}

/** A PostgreSQL data exception (class 22: bad encoding, out of range …), i.e. input the schemas let through. */
export function isDataException(err: unknown): boolean {
  return hasErrorCode(err, /^22[0-9A-Z]{3}$/);
}

/**
 * Division by zero (22012): how a single statement refuses a quota (a guard divides by a failed check). Some layers
 * keep only the message, so the message counts too.
 */
export function isDivisionByZero(err: unknown): boolean {
  if (hasErrorCode(err, SQL_ERROR_CODES.DIVISION_BY_ZERO)) return true;
  return errorChain(err).some((o) => /division by zero/.test(String(o.message ?? '')));
}

/** A transaction lost a serialization conflict or a deadlock and may be retried (40001, 40P01). */
export function isSerializationFailure(err: unknown): boolean {
  return hasErrorCode(err, SQL_ERROR_CODES.SERIALIZATION_FAILURE) || hasErrorCode(err, SQL_ERROR_CODES.DEADLOCK_DETECTED);
}

/** True for errors meaning the database is unreachable (connection refused/reset, pool timeout, shutdown). */
export function isDatabaseUnavailable(err: unknown): boolean {
  return errorChain(err).some((o) => {
    const code = o.code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    return UNAVAILABLE_MESSAGE.test(String(o.message ?? ''));
  });
}
