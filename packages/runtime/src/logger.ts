import { pino, type Logger, type LoggerOptions } from 'pino';

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

export function createLogger(name: string, level: LoggerOptions['level'] = 'info', options: LoggerOptions = {}): Logger {
  return pino({
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: name },
    ...options,
  });
}
