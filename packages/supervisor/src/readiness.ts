const PROBE_TIMEOUT_MS = 3_000;

/** The address to probe a listener bound to `host` at: a wildcard bind is reached over loopback. */
export function probeUrl(host: string, port: number, path: string): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}${path}`;
}

/** One GET of `url`: true on 2xx; false on another status, no answer within PROBE_TIMEOUT_MS, or `signal` aborting. */
async function probe(url: string, signal: AbortSignal): Promise<boolean> {
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(onAbort, PROBE_TIMEOUT_MS);
  try {
    const res = await fetch(url, { signal: ac.signal });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false; // not listening yet, or not ready
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/** Polls `url` until it answers 2xx; rejects only when `signal` aborts. */
export async function waitUntilReady(url: string, signal: AbortSignal, intervalMs = 250): Promise<void> {
  while (!signal.aborted) {
    if (await probe(url, signal)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, intervalMs);
      signal.addEventListener('abort', done, { once: true });
    });
  }
  throw signal.reason ?? new Error('aborted');
}
