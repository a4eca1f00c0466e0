import { v7 } from 'uuid';

/** A new UUID v7 (time-ordered), for rows inserted outside Prisma's client-side defaults; `at` sets its time part. */
export function newId(at?: Date): string {
  return at ? v7({ msecs: at.getTime() }) : v7();
}

/**
 * The smallest UUID v7 of the millisecond `at` (its first 48 bits are the Unix time in ms): every id made at or after
 * `at` sorts at or above it, every earlier one below, so a time range over v7 ids is an id range (one index).
 */
export function uuidV7Floor(at: Date): string {
  const hex = Math.max(0, Math.trunc(at.getTime())).toString(16).padStart(12, '0').slice(-12);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
}
