/**
 * Preloaded into every service the supervisor starts (`node --import <this file>`): when the supervisor is gone
 * (killed with SIGKILL, so it could not stop its children), the service stops itself gracefully instead of holding
 * its ports against the next `npm start`.
 */
const PARENT_POLL_MS = 500;
const GRACE_MS = 20_000;

const parent = process.ppid;
const timer = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(timer);
  process.kill(process.pid, 'SIGTERM');
  setTimeout(() => process.exit(1), GRACE_MS).unref();
}, PARENT_POLL_MS);
timer.unref();
