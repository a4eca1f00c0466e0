import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Paths never written to logs, whatever a caller passes. */
export const REDACT_PATHS = [
  'password',
  'newPassword',
  'currentPassword',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
];

/** `destination`: where lines go instead of stdout (the `npm start` supervisor formats its own lines like its services'). */
export function createLogger(
  name: string,
  level: LoggerOptions['level'] = 'info',
  options: LoggerOptions = {},
  destination?: DestinationStream,
): Logger {
  const opts: LoggerOptions = {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: name },
    ...options,
  };
  // stdout written synchronously: pino's default destination writes asynchronously, and its fatal() then flushes the
  // rest synchronously, so a line still in flight landed after the fatal one ("could not start" before the cleanups'
  // lines, seen under load); a crash also lost the lines still queued. One write per line costs little here.
  return pino(opts, destination ?? pino.destination({ dest: 1, sync: true }));
}
