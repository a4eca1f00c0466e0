// Formatting shared by server and client components (no dependencies).

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return 'Unlimited';
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${UNITS[i]}`;
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return 'Never';
  const d = new Date(iso);
  return d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

/** When a password was last set: "Not recorded" for accounts from before it was kept. */
export function formatPasswordChanged(iso: string | null | undefined): string {
  return iso ? formatDateTime(iso) : 'Not recorded';
}

export function percent(used: number, limit: number | null | undefined): number | null {
  if (limit === null || limit === undefined) return null;
  if (limit <= 0) return used > 0 ? 100 : 0;
  return Math.min(100, Math.round((used / limit) * 100));
}

/** "10 GB" style input → bytes (binary units); '' → null (unlimited); undefined when unparsable. */
export function parseByteInput(input: string): number | null | undefined {
  const v = input.trim();
  if (!v) return null;
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g|tb|t)?$/i.exec(v);
  if (!m) return undefined;
  const unit = (m[2] ?? 'mb').toLowerCase()[0];
  const pow = unit === 'b' ? 0 : unit === 'k' ? 1 : unit === 'm' ? 2 : unit === 'g' ? 3 : 4;
  return Math.round(Number(m[1]) * 1024 ** pow);
}

/** Bytes → the input form parseByteInput reads back ('' for unlimited). */
export function bytesToInput(n: number | null | undefined): string {
  if (n === null || n === undefined) return '';
  for (const [u, p] of [
    ['TB', 4],
    ['GB', 3],
    ['MB', 2],
    ['KB', 1],
  ] as const) {
    const div = 1024 ** p;
    if (n >= div && n % div === 0) return `${n / div} ${u}`;
  }
  return `${n} B`;
}
