import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface RunningStack {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code after SIGTERM. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `tsx scripts/start.ts` (what `npm start` runs after its build step) and waits for its "Mailroom is up" banner. */
export async function startStack(env: NodeJS.ProcessEnv, timeoutMs = 150_000): Promise<RunningStack> {
  // node with tsx's loader (the tsx CLI SIGKILLs a child that is slow to acknowledge a relayed signal)
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stack not up after ${timeoutMs} ms:\n${out.slice(-4000)}`)), timeoutMs);
    const check = () => {
      if (out.includes('Mailroom is up')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`start exited with ${code} before it was up:\n${out.slice(-4000)}`));
    });
  });
  return {
    child,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

/** Reads the first line a server sends (its greeting), over plain TCP or implicit TLS. */
export async function greeting(port: number, useTls = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock: net.Socket = useTls
      ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false })
      : net.connect({ host: '127.0.0.1', port });
    let buf = '';
    sock.setEncoding('utf8');
    sock.setTimeout(10_000, () => {
      sock.destroy();
      reject(new Error(`no greeting on ${port}`));
    });
    sock.on('data', (d) => {
      buf += d;
      const i = buf.indexOf('\r\n');
      if (i >= 0) {
        sock.destroy();
        resolve(buf.slice(0, i));
      }
    });
    sock.on('error', reject);
  });
}

export async function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
}

/** The JSON log lines of a stack's output (banner and other text skipped). */
export function logLines(out: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const l of out.split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // a line cut by a chunk boundary
    }
  }
  return lines;
}

/** Process ids the supervisor logged for a service ("service started"), oldest first. */
export function servicePids(out: string, service: string): number[] {
  return logLines(out)
    .filter((l) => l.msg === 'service started' && l.service === service)
    .map((l) => Number(l.pid));
}

/** mailroom_supervisor_restarts_total{service} from the supervisor's /metrics. */
export async function supervisorRestarts(metricsPort: number, service: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const m = new RegExp(`^mailroom_supervisor_restarts_total\\{service="${service}"\\} (\\d+)$`, 'm').exec(text);
  if (!m) throw new Error(`no restart counter for ${service}`);
  return Number(m[1]);
}

/** USER/PASS over plain POP3 (loopback may log in without TLS); resolves with the reply to PASS. */
export async function pop3Login(port: number, user: string, pass: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const replies: string[] = [];
    const commands = [`USER ${user}`, `PASS ${pass}`, 'QUIT'];
    let buf = '';
    sock.setEncoding('utf8');
    sock.setTimeout(20_000, () => {
      sock.destroy();
      reject(new Error(`POP3 timed out after ${replies.join(' | ')}`));
    });
    sock.on('data', (d) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        replies.push(buf.slice(0, i));
        buf = buf.slice(i + 2);
        const next = commands.shift();
        if (next) sock.write(`${next}\r\n`);
        if (replies.length === 3) {
          sock.destroy();
          resolve(replies[2]!);
        }
      }
    });
    sock.on('error', reject);
    sock.on('close', () => reject(new Error(`POP3 closed after ${replies.join(' | ')}`)));
  });
}

/** A signed-in API session (cookie + CSRF token), straight to the API. */
export async function apiLogin(apiPort: number, email: string, password: string) {
  const base = `http://127.0.0.1:${apiPort}/api/v1`;
  const res = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`);
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  return async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const r = await fetch(`${base}${p}`, {
      method,
      headers: { cookie, 'x-csrf-token': csrfToken, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
}
