import { prettyFactory } from 'pino-pretty';

/** LOG_FORMAT: `auto` = pretty on a terminal, JSON otherwise. */
export type LogFormatSetting = 'auto' | 'json' | 'pretty';
export type LogFormat = 'json' | 'pretty';
export type OutputStream = 'stdout' | 'stderr';

export function resolveLogFormat(setting: LogFormatSetting, isTTY: boolean): LogFormat {
  if (setting === 'auto') return isTTY ? 'pretty' : 'json';
  return setting;
}

/** pino levels: what a line that is not JSON is logged as (stderr is where crashes and warnings go). */
const LEVEL_INFO = 30;
const LEVEL_WARN = 40;
const SERVICE_COLORS = [36, 35, 33, 32, 34, 96, 95, 93];

function parseObject(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(line);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export interface LineFormatterOptions {
  format: LogFormat;
  /** ANSI colours in pretty mode (a terminal without NO_COLOR). */
  colorize?: boolean;
  /** Width the service prefix is padded to in pretty mode. */
  prefixWidth?: number;
  /** Picks the prefix colour. */
  colorIndex?: number;
}

/**
 * Turns one line a service wrote into what the supervisor prints (with its trailing newline), or '' to print nothing.
 * JSON: every line stays one JSON object; a pino line passes unchanged except that it gains `service` when it has none;
 * any other text becomes `{"level","time","service","msg"}`. Pretty: pino-pretty's rendering, each line prefixed
 * with the service name.
 */
export function createLineFormatter(service: string, opts: LineFormatterOptions): (line: string, stream: OutputStream) => string {
  const trimmed = (line: string) => line.replace(/\r$/, '');
  if (opts.format === 'json') {
    const serviceField = `"service":${JSON.stringify(service)}`;
    return (raw, stream) => {
      const line = trimmed(raw);
      if (!line.trim()) return '';
      const obj = parseObject(line);
      if (!obj)
        return `${JSON.stringify({ level: stream === 'stderr' ? LEVEL_WARN : LEVEL_INFO, time: Date.now(), service, msg: line })}\n`;
      if ('service' in obj) return `${line}\n`;
      return `{${serviceField}${Object.keys(obj).length ? ',' : ''}${line.slice(1)}\n`;
    };
  }
  const colorize = opts.colorize ?? false;
  const prettyOptions = { colorize, translateTime: 'SYS:HH:MM:ss.l', singleLine: true };
  const pretty = prettyFactory({ ...prettyOptions, ignore: 'pid,hostname,service,name' });
  // a line about another service (the supervisor's "service started") keeps its `service` field
  const prettyOther = prettyFactory({ ...prettyOptions, ignore: 'hostname,name' });
  const label = service.padEnd(opts.prefixWidth ?? service.length);
  const color = SERVICE_COLORS[(opts.colorIndex ?? 0) % SERVICE_COLORS.length];
  const prefix = colorize ? `\u001b[${color}m${label} |\u001b[39m ` : `${label} | `;
  return (raw) => {
    const line = trimmed(raw);
    if (!line.trim()) return '';
    const obj = parseObject(line);
    const text = obj ? (obj.service === undefined || obj.service === service ? pretty : prettyOther)(line).replace(/\n+$/, '') : line;
    return `${text
      .split('\n')
      .map((l) => prefix + l)
      .join('\n')}\n`;
  };
}
