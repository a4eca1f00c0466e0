import type { Logger } from 'pino';

/**
 * Runs `stop` once on SIGINT/SIGTERM (graceful shutdown), then exits. A second signal, or `timeoutMs` passing, forces exit.
 */
export function onShutdownSignal(stop: (signal: string) => Promise<void>, logger: Logger, timeoutMs = 15_000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('graceful shutdown timed out');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    stop(signal).then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
