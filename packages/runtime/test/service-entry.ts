// A service entry built on runService, for service.test.ts: an ops server as its only listener.
import { z } from 'zod';
import { baseEnvSchema, createOpsServer, loadServerSecret, parseEnv, runService } from '../src/index.ts';

const schema = baseEnvSchema.extend({
  FIXTURE_FAIL: z.enum(['no', 'listen']).default('no'),
  FIXTURE_CONSOLE: z.enum(['no', 'yes']).default('no'),
  FIXTURE_CONFIG_EXIT: z.coerce.number().int().optional(),
  MAILROOM_SECRET: z.string().optional(),
});

await runService({
  name: 'fixture',
  loadEnv: () => parseEnv(schema),
  configExitCode: Number(process.env.FIXTURE_CONFIG_EXIT ?? 1),
  async build({ env, logger, onClose }) {
    onClose(() => logger.info('first cleanup'));
    onClose(() => logger.info('second cleanup'));
    if (env.MAILROOM_SECRET !== undefined) await loadServerSecret(env.MAILROOM_SECRET, env.MAILROOM_DATA_DIR);
    const ops = createOpsServer({
      host: '127.0.0.1',
      port: 0,
      ready: async () => true,
      metrics: { contentType: 'text/plain', metrics: async () => '# fixture\n' },
    });
    return {
      async listen() {
        if (env.FIXTURE_CONSOLE === 'yes') {
          // as a dependency would
          console.log('TOTAL', 42, 'EXPECTING', 7);
          console.error('trouble: %s', 'x'.repeat(5000));
        }
        if (env.FIXTURE_FAIL === 'listen') throw new Error('port taken');
        return { metricsPort: await ops.listen() };
      },
      close: () => ops.close(),
    };
  },
});
