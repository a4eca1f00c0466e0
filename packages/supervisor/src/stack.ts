/**
 * `npm start` (scripts/start.ts): resolves the database (DATABASE_URL, else an embedded PostgreSQL in
 * $MAILROOM_DATA_DIR/pg), applies migrations, creates the first admin, then supervises API, POP3, ingress, the worker and
 * web as child processes: each is ready when its /readyz answers 200; one that exits on its own is restarted with
 * backoff; one that keeps crashing stops the stack (exit 1, naming it); Ctrl-C/SIGTERM stops everything, PostgreSQL last.
 * The embedded PostgreSQL is supervised the same way.
 */
import { isIP } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootstrapAdmin, createPasswordHasher } from '@mailroom/core';
import { createPrismaClient, findFreePort, logHugePagesAdvice, openDatabase, pgPoolOf } from '@mailroom/db';
import { argon2Params, ConfigError, createLogger, createOpsServer, loadTlsMaterial, type Logger } from '@mailroom/runtime';
import { launchChildService, RecentOutput, type ChildServiceSpec } from './child-service.ts';
import { SERVICE_NAMES, type ServiceName, type SupervisorEnv } from './config.ts';
import { createLineFormatter, resolveLogFormat, type OutputStream } from './log-output.ts';
import { createSupervisorMetrics } from './metrics.ts';
import { embeddedPostgresLauncher } from './postgres.ts';
import { probeUrl } from './readiness.ts';
import { describeExit, Supervised, type GiveUp } from './supervised.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PREFIX_WIDTH = Math.max(...SERVICE_NAMES.map((n) => n.length), 'postgres'.length, 'mailroom'.length);

/** Resolves a port setting of 0 to a free port: the supervisor must know where to poll /readyz. */
async function fixedPort(port: number): Promise<number> {
  return port === 0 ? findFreePort() : port;
}

export async function runStack(env: SupervisorEnv): Promise<void> {
  const { stdout, stderr } = process;
  const format = resolveLogFormat(env.LOG_FORMAT, Boolean(stdout.isTTY));
  const colorize = format === 'pretty' && Boolean(stdout.isTTY) && !process.env.NO_COLOR;
  const formatter = (name: string, index: number) =>
    createLineFormatter(name, { format, colorize, prefixWidth: PREFIX_WIDTH, colorIndex: index });
  const print = (name: string, index: number) => {
    const f = formatter(name, index);
    return (line: string, stream: OutputStream) => {
      const out = f(line, stream);
      if (out) (stream === 'stderr' ? stderr : stdout).write(out);
    };
  };
  const printOwn = print('mailroom', SERVICE_NAMES.length + 1);
  // no base fields: a line about a service carries `service` (that service), the others get `service: mailroom` when printed
  const log: Logger = createLogger(
    'mailroom',
    env.LOG_LEVEL,
    { base: undefined },
    { write: (s: string) => printOwn(s.replace(/\n$/, ''), 'stdout') },
  );
  const printPostgres = print('postgres', SERVICE_NAMES.length);

  const metrics = createSupervisorMetrics();
  const units: Supervised[] = [];
  let stopping: Promise<never> | undefined;
  let closeDatabase: () => Promise<void> = async () => undefined;
  let opsClose: () => Promise<void> = async () => undefined;

  const shutdown = (code: number): Promise<never> => {
    stopping ??= (async () => {
      log.info('stopping services');
      const services = units.filter((u) => u.name !== 'postgres');
      await Promise.all(services.map((u) => u.stop()));
      await Promise.all(units.filter((u) => u.name === 'postgres').map((u) => u.stop()));
      await closeDatabase().catch((err) => log.error({ err }, 'stopping PostgreSQL failed'));
      await opsClose();
      log.info('stopped');
      process.exit(code);
    })();
    return stopping;
  };
  const onSignal = () => {
    // a second Ctrl-C does not wait: the services stop on their own (parent watch), PostgreSQL gets a fast shutdown
    if (stopping) process.exit(1);
    void shutdown(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const recent = new Map<string, RecentOutput>();
  const onGiveUp = (info: GiveUp) => {
    const lines = recent.get(info.service)?.errors() ?? [];
    stderr.write(
      `\nmailroom: ${info.service} crashed ${info.crashes} times within ${Math.round(info.windowMs / 1000)} s ` +
        `(last: ${describeExit(info.exit)}); stopping the stack.\n` +
        (lines.length ? `  Last output of ${info.service}:\n${lines.map((l) => `    ${l}`).join('\n')}\n` : '') +
        '\n',
    );
    void shutdown(1);
  };
  const policy = {
    backoffMinMs: env.SUPERVISOR_BACKOFF_MIN_MS,
    backoffMaxMs: env.SUPERVISOR_BACKOFF_MAX_MS,
    stableAfterMs: env.SUPERVISOR_STABLE_AFTER_MS,
    crashLoopRestarts: env.SUPERVISOR_CRASH_LOOP_RESTARTS,
    crashLoopWindowMs: env.SUPERVISOR_CRASH_LOOP_WINDOW_MS,
  };

  try {
    const t0 = Date.now();
    const onPgLog = (line: string) => {
      if (env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'trace') for (const l of line.split('\n')) printPostgres(l, 'stdout');
    };
    const db = await openDatabase({
      databaseUrl: env.DATABASE_URL,
      dataDir: env.MAILROOM_DATA_DIR,
      embeddedPort: env.MAILROOM_PG_PORT,
      migrate: true,
      onLog: onPgLog,
    });
    closeDatabase = db.close;
    log.info({ embedded: db.embedded, applied: db.migrations?.applied ?? [], ms: Date.now() - t0 }, 'database ready');
    if (db.postgres) {
      const pg = new Supervised({
        name: 'postgres',
        launch: embeddedPostgresLauncher(db.postgres, { dataDir: env.MAILROOM_DATA_DIR, onLog: onPgLog }),
        policy,
        log,
        metrics,
        onGiveUp,
      });
      units.push(pg);
      pg.start();
    }

    const prisma = createPrismaClient(db.url, { maxConnections: 2, applicationName: 'mailroom-start' });
    try {
      // told once at start: PostgreSQL would keep its shared memory in huge pages and the host has too few reserved
      await logHugePagesAdvice(pgPoolOf(prisma)!, log);
      const admin = await bootstrapAdmin(prisma, createPasswordHasher(argon2Params(env)), {
        email: env.MAILROOM_ADMIN_EMAIL,
        password: env.MAILROOM_ADMIN_PASSWORD,
      });
      if (admin.created && admin.generatedPassword) {
        // Printed once, on purpose: it is the only way an operator learns a generated password.
        stdout.write(`\n  First admin created: ${admin.email}\n  Generated password (shown once): ${admin.generatedPassword}\n\n`);
      } else if (admin.created) {
        log.info({ email: admin.email }, 'first admin created');
      }
    } finally {
      await prisma.$disconnect();
    }
    // Generate the self-signed certificate once here, so POP3 and SMTP never race to create it.
    await loadTlsMaterial({
      certFile: env.TLS_CERT_FILE,
      keyFile: env.TLS_KEY_FILE,
      dataDir: env.MAILROOM_DATA_DIR,
      hostname: env.MAILROOM_PUBLIC_HOST ?? env.MAILROOM_HOST,
    });

    const ports = {
      API_PORT: await fixedPort(env.API_PORT),
      WEB_PORT: await fixedPort(env.WEB_PORT),
      POP3_METRICS_PORT: await fixedPort(env.POP3_METRICS_PORT),
      INGRESS_METRICS_PORT: await fixedPort(env.INGRESS_METRICS_PORT),
      WORKER_METRICS_PORT: await fixedPort(env.WORKER_METRICS_PORT),
    };
    const bracket = (h: string) => (h.includes(':') ? `[${h}]` : h);
    // each service's glibc malloc settings are its workspace's (launchChildService)
    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      DATABASE_URL: db.url,
      MAILROOM_DATA_DIR: env.MAILROOM_DATA_DIR,
      API_INTERNAL_URL: process.env.API_INTERNAL_URL ?? `http://${bracket(env.MAILROOM_HOST)}:${ports.API_PORT}`,
      NEXT_TELEMETRY_DISABLED: '1',
      // What clients are told (connection card, autoconfig, profiles) matches the ports listened on, unless the operator
      // says otherwise (a NAT or proxy in front).
      MAILROOM_PUBLIC_POP3_PORT: process.env.MAILROOM_PUBLIC_POP3_PORT?.trim() || String(env.POP3_PORT),
      MAILROOM_PUBLIC_POP3S_PORT: process.env.MAILROOM_PUBLIC_POP3S_PORT?.trim() || String(env.POP3S_PORT),
      // The panel's server reaches the API from loopback, or from MAILROOM_HOST when that is one specific address.
      API_TRUSTED_PROXIES:
        process.env.API_TRUSTED_PROXIES ??
        (isIP(env.MAILROOM_HOST) && !/^(0\.0\.0\.0|::)$/.test(env.MAILROOM_HOST) ? `loopback,${env.MAILROOM_HOST}` : 'loopback'),
    };
    delete childEnv.MAILROOM_ADMIN_PASSWORD;
    delete childEnv.LOG_FORMAT;

    const specs: Record<ServiceName, ChildServiceSpec> = {
      api: { name: 'api', cwd: 'apps/api', entry: 'src/main.ts', readyUrl: probeUrl(env.MAILROOM_HOST, ports.API_PORT, '/readyz') },
      pop3: {
        name: 'pop3',
        cwd: 'packages/pop3',
        entry: 'src/main.ts',
        readyUrl: probeUrl(env.METRICS_HOST, ports.POP3_METRICS_PORT, '/readyz'),
      },
      ingress: {
        name: 'ingress',
        cwd: 'packages/ingress',
        entry: 'src/main.ts',
        readyUrl: probeUrl(env.METRICS_HOST, ports.INGRESS_METRICS_PORT, '/readyz'),
      },
      // scheduled jobs (DNS re-checks, expired claims) on the pg-boss queue in the same database
      worker: {
        name: 'worker',
        cwd: 'packages/worker',
        entry: 'src/main.ts',
        readyUrl: probeUrl(env.METRICS_HOST, ports.WORKER_METRICS_PORT, '/readyz'),
      },
      // server.ts: Next.js behind the panel's own /api proxy, which sends the API the real client address
      web: { name: 'web', cwd: 'apps/web', entry: 'server.ts', readyUrl: probeUrl(env.MAILROOM_HOST, ports.WEB_PORT, '/readyz') },
    };
    const services = env.SUPERVISOR_SERVICES.map((name) => {
      const index = SERVICE_NAMES.indexOf(name);
      const spec = { ...specs[name], cwd: path.join(ROOT, specs[name].cwd) };
      const out = recent.set(name, new RecentOutput()).get(name)!;
      const printLine = print(name, index);
      const unit = new Supervised({
        name,
        launch: async () =>
          launchChildService(spec, childEnv, (line, stream) => {
            out.push(stream, line);
            printLine(line, stream);
          }),
        policy,
        log,
        metrics,
        onGiveUp,
      });
      units.push(unit);
      return unit;
    });

    const ops = createOpsServer({
      host: env.METRICS_HOST,
      port: env.SUPERVISOR_METRICS_PORT,
      ready: async () => units.every((u) => u.isReady),
      metrics: metrics.registry,
    });
    // the stack runs without its restart metrics rather than not at all
    const opsPort = await ops.listen().catch((err: Error) => {
      log.warn(
        { err: err.message, port: env.SUPERVISOR_METRICS_PORT },
        'supervisor metrics listener not started (SUPERVISOR_METRICS_PORT)',
      );
      return undefined;
    });
    opsClose = () => ops.close();

    for (const s of services) s.start();
    let readyTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(services.map((s) => s.ready)),
      new Promise<never>((_, reject) => {
        readyTimer = setTimeout(() => {
          const waiting = services.filter((s) => !s.isReady).map((s) => s.name);
          reject(new Error(`not ready within ${env.SUPERVISOR_READY_TIMEOUT_MS} ms: ${waiting.join(', ')}`));
        }, env.SUPERVISOR_READY_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(readyTimer));
    if (stopping) return;
    const host = bracket(env.MAILROOM_HOST);
    stdout.write(
      [
        '',
        `  Mailroom is up (${((Date.now() - t0) / 1000).toFixed(1)} s)${db.embedded ? ' with embedded PostgreSQL' : ''}`,
        `    Web panel     http://${host}:${ports.WEB_PORT}/`,
        `    REST API      http://${host}:${ports.API_PORT}/api/v1  (docs: http://${host}:${ports.WEB_PORT}/api/docs)`,
        `    POP3 + STLS   ${host}:${env.POP3_PORT}`,
        `    POP3S (TLS)   ${host}:${env.POP3S_PORT}`,
        `    LMTP          ${host}:${env.LMTP_PORT}`,
        `    SMTP (MX)     ${host}:${env.SMTP_PORT}`,
        `    Metrics       http://${host}:${ports.API_PORT}/metrics, :${ports.POP3_METRICS_PORT}/metrics, :${ports.INGRESS_METRICS_PORT}/metrics, ` +
          `:${ports.WORKER_METRICS_PORT}/metrics (worker)${opsPort ? `, :${opsPort}/metrics (supervisor: restarts)` : ''}`,
        `  A service that exits is restarted. Press Ctrl-C to stop.`,
        '',
      ].join('\n'),
    );
  } catch (err) {
    if (err instanceof ConfigError) stderr.write(`mailroom: ${err.message}\n`);
    else log.fatal({ err }, 'start failed');
    await shutdown(1);
  }
}
