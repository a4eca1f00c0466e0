import { startEmbeddedPostgres, type RunningPostgres } from '@mailroom/db';
import type { Incarnation } from './supervised.ts';

/**
 * The embedded PostgreSQL as a supervised process: the first incarnation is the server openDatabase() started; a
 * restart starts the same data directory on the same port (remembered there), so the services' DATABASE_URL stays
 * valid and their pools reconnect. A postmaster.pid left by the killed server is cleaned up by startEmbeddedPostgres.
 */
export function embeddedPostgresLauncher(
  first: RunningPostgres,
  opts: { dataDir: string; onLog(line: string): void },
): () => Promise<Incarnation> {
  let next: RunningPostgres | undefined = first;
  return async () => {
    const server = next ?? (await startEmbeddedPostgres({ dataDir: opts.dataDir, port: first.port, onLog: opts.onLog }));
    next = undefined;
    return {
      pid: server.pid,
      exited: server.exited.then(({ code, signal }) => ({ code, signal })),
      stop: () => server.stop(),
    };
  };
}
