import { uuidV7Floor } from '@mailroom/db';
import { AppError } from '../errors.ts';

/** Opaque cursors: base64url JSON of the last row's sort key. */
export function encodeCursor(key: Record<string, string>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<K extends string>(cursor: string | undefined, keys: readonly K[]): Record<K, string> | undefined {
  if (cursor === undefined) return undefined;
  const invalid = () =>
    new AppError('VALIDATION_FAILED', 'Invalid cursor', {
      fields: [{ path: 'query.cursor', message: 'is not a cursor from this list', code: 'invalid_cursor' }],
    });
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalid();
  const out = {} as Record<K, string>;
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (typeof v !== 'string' || v.length > 600 || v.includes('\u0000')) throw invalid();
    out[k] = v;
  }
  return out;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function assertUuidCursor(v: string): string {
  if (!UUID.test(v))
    throw new AppError('VALIDATION_FAILED', 'Invalid cursor', {
      fields: [{ path: 'query.cursor', message: 'is not a cursor from this list', code: 'invalid_cursor' }],
    });
  return v;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Given limit+1 rows, returns the page and the cursor made from its last row. */
export function toPage<R, T>(rows: R[], limit: number, cursorOf: (row: R) => Record<string, string>, map: (row: R) => T): Page<T> {
  const more = rows.length > limit;
  const slice = more ? rows.slice(0, limit) : rows;
  return { items: slice.map(map), nextCursor: more ? encodeCursor(cursorOf(slice[slice.length - 1]!)) : null };
}

/** Bounds of a UUID v7 id, for a Prisma `where: { id }`. */
export interface IdRange {
  gte?: string;
  lt?: string;
}

/**
 * The id bounds of a newest-first page over a table whose ids are UUID v7 (time-ordered): `from`/`to` (createdAt,
 * inclusive/exclusive) become an id range, so one (scope, id) index serves the time range and the cursor alike.
 * Undefined when nothing bounds the ids. VALIDATION_FAILED when `from` is after `to` or the cursor is not this list's.
 */
export function uuidV7PageRange(input: {
  from?: string | undefined;
  to?: string | undefined;
  cursor?: string | undefined;
}): IdRange | undefined {
  const cursor = decodeCursor(input.cursor, ['id'] as const);
  const ids: IdRange = {};
  const from = input.from ? new Date(input.from) : undefined;
  const to = input.to ? new Date(input.to) : undefined;
  if (from && to && from > to)
    throw new AppError('VALIDATION_FAILED', '`from` is after `to`', {
      fields: [{ path: 'query.from', message: 'must not be after to' }],
    });
  if (from) ids.gte = uuidV7Floor(from);
  if (to) ids.lt = uuidV7Floor(to);
  if (cursor) {
    const c = assertUuidCursor(cursor.id);
    if (!ids.lt || c < ids.lt) ids.lt = c;
  }
  return ids.gte || ids.lt ? ids : undefined;
}
