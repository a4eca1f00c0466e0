/**
 * `npm start`: one command that brings the whole stack up on a fresh machine and keeps it up (packages/supervisor):
 * embedded PostgreSQL (unless DATABASE_URL is set), migrations, the first admin, then API, POP3, ingress, the worker and
 * web as supervised child processes, restarted with backoff when they exit; Ctrl-C/SIGTERM stops everything.
 */
import { parseSupervisorEnv, runStack, type SupervisorEnv } from '@mailroom/supervisor';

let env: SupervisorEnv;
try {
  env = parseSupervisorEnv();
} catch (err) {
  console.error(`mailroom: ${(err as Error).message}`);
  process.exit(2);
}
await runStack(env);
