/**
 * Preloaded into every service the supervisor starts (`node --import <this file>`): when the supervisor is gone
 * (killed with SIGKILL, so it could not stop its children), the service gets SIGTERM (graceful stop) and, if it is still
 * there after a grace period, SIGKILL, instead of holding its ports against the next `npm start`. The watch runs on
 * its own thread: a main thread blocked (seen: a service stuck on a closed stdout) cannot keep it from firing.
 */
import { Worker } from 'node:worker_threads';

const PARENT_POLL_MS = 500;
const GRACE_MS = 10_000;

const watch = `
const { workerData } = require('node:worker_threads');
const timer = setInterval(() => {
  if (process.ppid === workerData.parent) return;
  clearInterval(timer);
  process.kill(process.pid, 'SIGTERM');
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), ${GRACE_MS});
}, ${PARENT_POLL_MS});
`;
// execArgv: [] so the worker does not preload this file (and tsx) again
new Worker(watch, { eval: true, workerData: { parent: process.ppid }, execArgv: [] }).unref();
