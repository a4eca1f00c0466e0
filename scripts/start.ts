/**
 * `npm start`: one command that brings the whole stack up on a fresh machine.
 * Resolves the database (DATABASE_URL, else an embedded PostgreSQL in $MAILROOM_DATA_DIR/pg), applies migrations,
 * creates the first admin, then runs API, POP3, ingress, the background worker and web as child processes and stops them
 * all on Ctrl-C/SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { isIP } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { bootstrapAdmin, createPasswordHasher } from '@mailroom/core';
import { createPrismaClient, openDatabase } from '@mailroom/db';
import { argon2Params, baseEnvSchema, ConfigError, createLogger, loadTlsMaterial, optionalStringSchema, parseEnv, portSchema } from '@mailroom/runtime';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const startEnvSchema = baseEnvSchema.extend({
  MAILROOM_ADMIN_EMAIL: z.string().trim().email().default('admin@localhost.localdomain'),
  MAILROOM_ADMIN_PASSWORD: optionalStringSchema,
  /** Port of the embedded PostgreSQL (0 = remembered from the last run, else a free one). */
  MAILROOM_PG_PORT: portSchema.default(0),
  POP3_METRICS_PORT: portSchema.default(9101),
  INGRESS_METRICS_PORT: portSchema.default(9102),
  WORKER_METRICS_PORT: portSchema.default(9103),
});

let env: z.infer<typeof startEnvSchema>;
try {
  env = parseEnv(startEnvSchema);
} catch (err) {
  console.error(`mailroom: ${(err as Error).message}`);
  process.exit(2);
}
const log = createLogger('mailroom', env.LOG_LEVEL);

interface Service {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  child?: ChildProcess;
}

// node with tsx's loader, not the tsx CLI: the CLI relays SIGTERM and SIGKILLs its child when the child has not
// acknowledged within 30 ms (a loaded machine), which skipped graceful shutdown and left the service running.
const tsx = (entry: string) => ['--import', 'tsx', entry];
const node = process.execPath;
const services: Service[] = [
  { name: 'api', command: node, args: tsx('src/main.ts'), cwd: path.join(ROOT, 'apps/api') },
  { name: 'pop3', command: node, args: tsx('src/main.ts'), cwd: path.join(ROOT, 'packages/pop3') },
  { name: 'ingress', command: node, args: tsx('src/main.ts'), cwd: path.join(ROOT, 'packages/ingress') },
  // scheduled jobs (DNS re-checks, expired claims) on the pg-boss queue in the same database
  { name: 'worker', command: node, args: tsx('src/main.ts'), cwd: path.join(ROOT, 'packages/worker') },
  // server.ts: Next.js behind the panel's own /api proxy, which sends the API the real client address
  { name: 'web', command: node, args: tsx('server.ts'), cwd: path.join(ROOT, 'apps/web') },
];

let shuttingDown = false;
let closeDatabase: () => Promise<void> = async () => undefined;

async function shutdown(code: number): Promise<never> {
  if (shuttingDown) process.exit(code);
  shuttingDown = true;
  log.info('stopping services');
  await Promise.all(
    services.map(
      (s) =>
        new Promise<void>((resolve) => {
          const c = s.child;
          if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
          const force = setTimeout(() => c.kill('SIGKILL'), 20_000);
          c.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
  await closeDatabase().catch((err) => log.error({ err }, 'stopping PostgreSQL failed'));
  log.info('stopped');
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  const t0 = Date.now();
  const db = await openDatabase({
    databaseUrl: env.DATABASE_URL,
    dataDir: env.MAILROOM_DATA_DIR,
    embeddedPort: env.MAILROOM_PG_PORT,
    migrate: true,
    onLog: (line) => log.debug({ pg: line }, 'postgres'),
  });
  closeDatabase = db.close;
  log.info({ embedded: db.embedded, applied: db.migrations?.applied ?? [], ms: Date.now() - t0 }, 'database ready');

  const prisma = createPrismaClient(db.url, { maxConnections: 2, applicationName: 'mailroom-start' });
  try {
    const admin = await bootstrapAdmin(prisma, createPasswordHasher(argon2Params(env)), {
      email: env.MAILROOM_ADMIN_EMAIL,
      password: env.MAILROOM_ADMIN_PASSWORD,
    });
    if (admin.created && admin.generatedPassword) {
      // Printed once, on purpose: it is the only way an operator learns a generated password.
      process.stdout.write(`\n  First admin created: ${admin.email}\n  Generated password (shown once): ${admin.generatedPassword}\n\n`);
    } else if (admin.created) {
      log.info({ email: admin.email }, 'first admin created');
    }
  } finally {
    await prisma.$disconnect();
  }
  // Generate the self-signed certificate once here, so POP3 and SMTP never race to create it.
  await loadTlsMaterial({ certFile: env.TLS_CERT_FILE, keyFile: env.TLS_KEY_FILE, dataDir: env.MAILROOM_DATA_DIR, hostname: env.MAILROOM_PUBLIC_HOST ?? env.MAILROOM_HOST });

  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: db.url,
    MAILROOM_DATA_DIR: env.MAILROOM_DATA_DIR,
    API_INTERNAL_URL: process.env.API_INTERNAL_URL ?? `http://${env.MAILROOM_HOST.includes(':') ? `[${env.MAILROOM_HOST}]` : env.MAILROOM_HOST}:${env.API_PORT}`,
    NEXT_TELEMETRY_DISABLED: '1',
    // What clients are told (connection card, autoconfig, profiles) matches the ports listened on, unless the operator
    // says otherwise (a NAT or proxy in front).
    MAILROOM_PUBLIC_POP3_PORT: process.env.MAILROOM_PUBLIC_POP3_PORT?.trim() || String(env.POP3_PORT),
    MAILROOM_PUBLIC_POP3S_PORT: process.env.MAILROOM_PUBLIC_POP3S_PORT?.trim() || String(env.POP3S_PORT),
    WEB_PORT: String(env.WEB_PORT),
    // The panel's server reaches the API from loopback, or from MAILROOM_HOST when that is one specific address.
    API_TRUSTED_PROXIES: process.env.API_TRUSTED_PROXIES ?? (isIP(env.MAILROOM_HOST) && !/^(0\.0\.0\.0|::)$/.test(env.MAILROOM_HOST) ? `loopback,${env.MAILROOM_HOST}` : 'loopback'),
  };
  delete childEnv.MAILROOM_ADMIN_PASSWORD;

  const ready = services.map(
    (s) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(s.command, s.args, { cwd: s.cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
        s.child = child;
        let done = false;
        const onLine = (line: string, stream: NodeJS.WriteStream) => {
          stream.write(`${line}\n`);
          if (!done && /"msg":"listening"/.test(line)) {
            done = true;
            resolve();
          }
        };
        for (const [src, dst] of [[child.stdout, process.stdout], [child.stderr, process.stderr]] as const) {
          let buf = '';
          src?.setEncoding('utf8').on('data', (chunk: string) => {
            buf += chunk;
            let i: number;
            while ((i = buf.indexOf('\n')) >= 0) {
              onLine(buf.slice(0, i), dst);
              buf = buf.slice(i + 1);
            }
          });
        }
        child.on('exit', (code, signal) => {
          if (!done) return reject(new Error(`${s.name} exited before it was ready (code ${code}, signal ${signal})`));
          if (!shuttingDown) {
            log.error({ service: s.name, code, signal }, 'service exited; stopping the stack');
            void shutdown(1);
          }
        });
      }),
  );
  await Promise.all(ready);
  const host = env.MAILROOM_HOST.includes(':') ? `[${env.MAILROOM_HOST}]` : env.MAILROOM_HOST;
  process.stdout.write(
    [
      '',
      `  Mailroom is up (${((Date.now() - t0) / 1000).toFixed(1)} s)${db.embedded ? ' with embedded PostgreSQL' : ''}`,
      `    Web panel     http://${host}:${env.WEB_PORT}/`,
      `    REST API      http://${host}:${env.API_PORT}/api/v1  (docs: http://${host}:${env.WEB_PORT}/api/docs)`,
      `    POP3 + STLS   ${host}:${env.POP3_PORT}`,
      `    POP3S (TLS)   ${host}:${env.POP3S_PORT}`,
      `    LMTP          ${host}:${env.LMTP_PORT}`,
      `    SMTP (MX)     ${host}:${env.SMTP_PORT}`,
      `    Metrics       http://${host}:${env.API_PORT}/metrics, :${env.POP3_METRICS_PORT}/metrics, :${env.INGRESS_METRICS_PORT}/metrics, ` +
        `:${env.WORKER_METRICS_PORT}/metrics (worker)`,
      `  Press Ctrl-C to stop.`,
      '',
    ].join('\n'),
  );
} catch (err) {
  if (err instanceof ConfigError) console.error(`mailroom: ${err.message}`);
  else log.fatal({ err }, 'start failed');
  await shutdown(1);
}
