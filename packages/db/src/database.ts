import pg from 'pg';
import { startEmbeddedPostgres, withDatabase, type RunningPostgres } from './embedded.ts';
import { applyMigrations, type MigrateResult } from './migrate.ts';

export interface OpenDatabaseOptions {
  /** When set, that server is used as is; otherwise an embedded PostgreSQL is started in dataDir. */
  databaseUrl?: string | undefined;
  dataDir: string;
  /** Port for the embedded server (0 = remembered or free). */
  embeddedPort?: number;
  /** Database created on the embedded server. */
  databaseName?: string;
  migrate?: boolean;
  onLog?: (line: string) => void;
}

export interface OpenDatabase {
  url: string;
  embedded: boolean;
  migrations?: MigrateResult;
  /** The embedded server when one was started (its `exited` tells a supervisor to restart it). */
  postgres?: RunningPostgres;
  close(): Promise<void>;
}

export async function ensureDatabaseExists(adminUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid database name ${name}`);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } catch (err) {
        // Another process created it between the check and the create.
        if ((err as { code?: string }).code !== '42P04') throw err;
      }
    }
  } finally {
    await client.end();
  }
}

/**
 * Resolves the database the stack runs on: DATABASE_URL when given, else an embedded PostgreSQL in the data directory
 * (reused across runs). Applies migrations when asked.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<OpenDatabase> {
  let server: RunningPostgres | undefined;
  let url = options.databaseUrl;
  if (!url) {
    server = await startEmbeddedPostgres({ dataDir: options.dataDir, port: options.embeddedPort ?? 0, onLog: options.onLog });
    const name = options.databaseName ?? 'mailroom';
    try {
      await ensureDatabaseExists(server.adminUrl, name);
    } catch (err) {
      await server.stop();
      throw err;
    }
    url = withDatabase(server.adminUrl, name);
  }
  let migrations: MigrateResult | undefined;
  try {
    if (options.migrate) migrations = await applyMigrations(url);
  } catch (err) {
    await server?.stop();
    throw err;
  }
  return {
    url,
    embedded: Boolean(server),
    migrations,
    postgres: server,
    close: async () => {
      await server?.stop();
    },
  };
}
