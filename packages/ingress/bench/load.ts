/**
 * LMTP load generator, run as its own process by bench/run.ts (the way an MTA is a separate process): N connections,
 * each delivering `perConnection` messages with pipelined MAIL/RCPT/DATA. Prints one JSON line with the result.
 */
import { randomBytes } from 'node:crypto';
import { dotStuff, WireClient } from '../src/testing/wire-client.ts';

const [port, connections, perConnection, size] = process.argv.slice(2, 6).map(Number) as [number, number, number, number];
const recipients = JSON.parse(process.argv[6] ?? '[]') as string[];
/** `text`: one repeated line (compresses to almost nothing); `attachment`: base64 of random octets, like a zip or a JPEG. */
const bodyKind = (process.argv[7] ?? 'text') as 'text' | 'attachment';

function message(i: number): Buffer {
  const head = `From: bench@example.org\r\nTo: bench\r\nSubject: bench ${i}\r\nMessage-ID: <${i}.${Date.now()}@bench.test>\r\n\r\n`;
  const line = `${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2)}\r\n`;
  const n = Math.max(1, Math.ceil((size - head.length) / line.length));
  // 76-character base64 lines as MIME writes them
  const body =
    bodyKind === 'attachment'
      ? (
          randomBytes(n * 57)
            .toString('base64')
            .match(/.{1,76}/g) ?? []
        ).join('\r\n')
      : line.repeat(n);
  return Buffer.from((head + body).slice(0, size - 2) + '\r\n');
}

/**
 * Each connection's message, as built and as sent (stuffed once, like an MTA streaming a queue file): made before the
 * timed run, so neither the time nor the CPU figure includes building them.
 */
const messages = Array.from({ length: connections }, (_, n) => {
  const msg = message(n);
  return { msg, wire: dotStuff(msg) };
});

async function worker(n: number): Promise<{ ok: number; failed: number; latencies: number[]; envelope: number[] }> {
  const c = await WireClient.connect(port);
  const lhlo = await c.command('LHLO bench.test');
  // RFC 1870: SIZE= only to a server that advertises SIZE (Dovecot's LMTP does not, and refuses the parameter)
  const advertisesSize = lhlo.lines.some((l) => /^250[- ]SIZE\b/i.test(l));
  const rcpt = recipients[n % recipients.length]!;
  const { msg, wire } = messages[n]!;
  let ok = 0;
  let failed = 0;
  const latencies: number[] = [];
  const envelope: number[] = [];
  for (let i = 0; i < perConnection; i++) {
    const t0 = performance.now();
    c.write(`MAIL FROM:<bench@example.org>${advertisesSize ? ` SIZE=${msg.length}` : ''}\r\nRCPT TO:<${rcpt}>\r\nDATA\r\n`);
    const replies = [await c.read(), await c.read(), await c.read()];
    envelope.push(performance.now() - t0);
    if (replies[2]!.code !== 354) {
      failed++;
      await c.command('RSET');
      continue;
    }
    c.write(wire);
    const r = await c.read();
    if (r.code === 250) ok++;
    else failed++;
    latencies.push(performance.now() - t0);
  }
  await c.quit();
  return { ok, failed, latencies, envelope };
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
// CPU from here on: the deliveries, not this process's start (loading tsx and this file cost several hundred ms)
const cpuAtStart = cpuMs();
const started = performance.now();
const results = await Promise.all(Array.from({ length: connections }, (_, n) => worker(n)));
const elapsedMs = performance.now() - started;
const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
const pct = (p: number, xs = latencies) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;
const envelope = results.flatMap((r) => r.envelope).sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    ok: results.reduce((a, r) => a + r.ok, 0),
    failed: results.reduce((a, r) => a + r.failed, 0),
    elapsedMs,
    bytes: message(0).length,
    p50: pct(0.5),
    p99: pct(0.99),
    envelopeP50: pct(0.5, envelope),
    mean: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
    cpuMs: cpuMs() - cpuAtStart,
  })}\n`,
);
