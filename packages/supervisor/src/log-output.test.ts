import { describe, expect, it } from 'vitest';
import { createLineFormatter, resolveLogFormat } from './log-output.ts';

describe('service log lines', () => {
  it('LOG_FORMAT auto is pretty on a terminal only; json and pretty are taken as said', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });

  it('json: a pino line passes unchanged, gains a service field when it has none; other text becomes one JSON object', () => {
    const f = createLineFormatter('pop3', { format: 'json' });
    const withService = '{"level":30,"time":1,"service":"api","msg":"listening","n":12345678901234567890}';
    expect(f(withService, 'stdout')).toBe(`${withService}\n`);
    const out = f('{"level":30,"time":1,"msg":"hello","big":12345678901234567890}', 'stdout');
    expect(out).toBe('{"service":"pop3","level":30,"time":1,"msg":"hello","big":12345678901234567890}\n');
    expect(f('{}', 'stdout')).toBe('{"service":"pop3"}\n');
    const text = JSON.parse(f('Error: boom {', 'stderr')) as Record<string, unknown>;
    expect(text).toMatchObject({ service: 'pop3', level: 40, msg: 'Error: boom {' });
    expect(JSON.parse(f('[1,2]', 'stdout'))).toMatchObject({ service: 'pop3', msg: '[1,2]' });
    expect(f('   ', 'stdout')).toBe('');
  });

  it('pretty: every printed line carries the service prefix, fields and stack lines included', () => {
    const f = createLineFormatter('ingress', { format: 'pretty', prefixWidth: 8 });
    const out = f(
      JSON.stringify({
        level: 50,
        time: 1,
        service: 'ingress',
        msg: 'delivery failed',
        err: { message: 'x', stack: 'Error: x\n    at y' },
      }),
      'stdout',
    );
    const lines = out.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l.startsWith('ingress  | ')).toBe(true);
    expect(lines[0]).toMatch(/ERROR.*delivery failed/);
    expect(out).not.toContain('"level"');
    expect(f('plain text', 'stderr')).toBe('ingress  | plain text\n');
    const own = createLineFormatter('mailroom', { format: 'pretty' });
    expect(own(JSON.stringify({ level: 30, time: 1, msg: 'service started', service: 'pop3', pid: 7 }), 'stdout')).toMatch(
      /^mailroom \| .*INFO \(7\): service started \{"service":"pop3"\}/,
    );
    expect(own(JSON.stringify({ level: 30, time: 1, msg: 'stopped' }), 'stdout')).not.toContain('service');
  });
});
