import { v7 } from 'uuid';

/** A new UUID v7 (time-ordered), for rows inserted outside Prisma's client-side defaults. */
export function newId(): string {
  return v7();
}
