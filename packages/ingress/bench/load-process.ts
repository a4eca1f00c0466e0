/**
 * Runs the LMTP load generator (bench/load.ts) as its own process, the way an MTA is a separate process from the server
 * it delivers to, and resolves with the JSON line it prints. Shared by the ingress benchmarks and the Dovecot comparison.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface LoadResult {
  ok: number;
  failed: number;
  elapsedMs: number;
  /** Octets of one message as generated (before dot-stuffing). */
  bytes: number;
  p50: number;
  p99: number;
  envelopeP50: number;
  mean: number;
  /** CPU ms the load generator used during the run (not its start or building its messages). */
  cpuMs: number;
}

/** `text`: one repeated line (compresses to almost nothing); `attachment`: base64 of random octets, like a zip or a JPEG. */
export type BodyKind = 'text' | 'attachment';

export interface LoadOptions {
  port: number;
  connections: number;
  perConnection: number;
  size: number;
  /** Connection n delivers to recipients[n % recipients.length]. */
  recipients: string[];
  body?: BodyKind;
}

export function runLoad(o: LoadOptions): Promise<LoadResult> {
  const args = [o.port, o.connections, o.perConnection, o.size].map(String);
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./load.ts', import.meta.url)), ...args, JSON.stringify(o.recipients), o.body ?? 'text'],
      { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load exited ${code}`))));
  });
}
