import { format } from 'node:util';
import { ConfigError, type BaseEnv } from './env.ts';
import { createLogger, type Logger } from './logger.ts';
import { missingNodeFlags } from './node-flags.ts';
import { onShutdownSignal } from './shutdown.ts';

type Cleanup = () => unknown;

export interface ServiceContext<E> {
  /** The parsed environment; DATABASE_URL is present (runService refuses to start without it). */
  env: E & { DATABASE_URL: string };
  logger: Logger;
  /** Registers a cleanup (close a pool, disconnect Prisma): run in reverse order after `close`, or when the start fails. */
  onClose(cleanup: Cleanup): void;
}

export interface BuiltService {
  /** Binds every port; resolves with the fields of the "listening" log line (bound ports, hosts). */
  listen(): Promise<Record<string, unknown>>;
  /** Stops accepting and lets in-flight work finish (the registered cleanups run after it). */
  close(): Promise<void>;
}

export interface ServiceSpec<E extends Pick<BaseEnv, 'LOG_LEVEL' | 'DATABASE_URL'>> {
  /** The logger name and the prefix of start-up errors on stderr (`mailroom <name>: …`). */
  name: string;
  /** Parses the environment once (throws ConfigError on a bad setting). */
  loadEnv(): E;
  /** Exit code for a bad configuration (default 1; the API has always used 2). */
  configExitCode?: number;
  build(ctx: ServiceContext<E>): Promise<BuiltService>;
  /** Node flags its launchers must pass (its package.json's, see workspaceNodeFlags): a warning at start names the missing. */
  nodeFlags?: readonly string[];
}

/** The message of a line a library wrote to the console (tests look for it). */
export const CONSOLE_OUTPUT = 'a library wrote to the console';

/**
 * Keeps a service's standard output one JSON log line per line: what a dependency writes with `console` (mailauth
 * prints a line of its own for a DKIM signature whose `l=` differs from the body, which any sender can send) becomes a
 * log entry, at debug for log/info/debug and at warn for warn/error, its text bounded.
 */
export function routeConsoleToLogger(logger: Logger): void {
  const to =
    (level: 'debug' | 'warn') =>
    (...args: unknown[]) => {
      if (logger.isLevelEnabled(level)) logger[level]({ console: format(...args).slice(0, 2000) }, CONSOLE_OUTPUT);
    };
  console.log = console.info = console.debug = to('debug');
  console.warn = console.error = to('warn');
}

/** The message of the start-up warning for missing Node flags (tests look for it). */
export const NODE_FLAGS_MISSING = 'started without the Node flags its package.json declares';

/**
 * The one service entry (`src/main.ts` of api, pop3, ingress and the worker): parse the environment once, refuse to start
 * without DATABASE_URL, create the logger, build, register SIGTERM/SIGINT for a graceful shutdown (log "shutting down",
 * close, cleanups, log "stopped", exit 0), listen and log "listening" with the bound ports.
 * Exit codes: `configExitCode` for a bad environment or setting (message on stderr, never a secret: ConfigError names variables
 * only), 1 when the start fails (a "could not start" fatal line), 1 when shutdown fails or times out.
 */
export async function runService<E extends Pick<BaseEnv, 'LOG_LEVEL' | 'DATABASE_URL'>>(spec: ServiceSpec<E>): Promise<void> {
  const configError = (err: ConfigError): never => {
    process.stderr.write(`mailroom ${spec.name}: ${err.message}\n`);
    process.exit(spec.configExitCode ?? 1);
  };
  let env: E;
  try {
    env = spec.loadEnv();
    if (!env.DATABASE_URL) throw new ConfigError('invalid configuration:\n  DATABASE_URL: required (npm start sets it)');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return configError(err);
  }
  const logger = createLogger(spec.name, env.LOG_LEVEL);
  routeConsoleToLogger(logger);
  const missing = missingNodeFlags(spec.nodeFlags ?? []);
  if (missing.length) logger.warn({ missing }, NODE_FLAGS_MISSING);
  const cleanups: Cleanup[] = [];
  const runCleanups = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (err) {
        logger.warn({ err }, 'cleanup failed');
      }
    }
  };
  let service: BuiltService | undefined;
  onShutdownSignal(async () => {
    await service?.close();
    await runCleanups();
    logger.info('stopped');
  }, logger);
  try {
    service = await spec.build({ env: env as E & { DATABASE_URL: string }, logger, onClose: (c) => void cleanups.push(c) });
    const fields = await service.listen();
    logger.info(fields, 'listening');
  } catch (err) {
    await service?.close().catch(() => undefined);
    await runCleanups();
    // a setting only checked while building (MAILROOM_SECRET's length) is still a configuration error
    if (err instanceof ConfigError) return configError(err);
    logger.fatal({ err }, 'could not start');
    process.exit(1);
  }
}
