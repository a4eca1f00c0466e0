const PROBE_TIMEOUT_MS = 3_000;

/** The address to probe a listener bound to `host` at: a wildcard bind is reached over loopback. */
export function probeUrl(host: string, port: number, path: string): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}${path}`;
}

/** Polls `url` until it answers 2xx; rejects only when `signal` aborts. */
export async function waitUntilReady(url: string, signal: AbortSignal, intervalMs = 250): Promise<void> {
  while (!signal.aborted) {
    try {
      const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet, or not ready
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, intervalMs);
      signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  }
  throw signal.reason ?? new Error('aborted');
}
