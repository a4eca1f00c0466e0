import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { defineConfig } from 'prisma/config';

// Prisma's CLI wants to download its native schema engine, which is unreachable offline. `prisma generate`
// never uses it, so point the variable at an existing file (this one) unless an operator set a real engine.
const here = fileURLToPath(import.meta.url);
if (!process.env.PRISMA_SCHEMA_ENGINE_BINARY || !existsSync(process.env.PRISMA_SCHEMA_ENGINE_BINARY)) {
  process.env.PRISMA_SCHEMA_ENGINE_BINARY = here;
}
process.env.CHECKPOINT_DISABLE ??= '1';

const root = path.resolve(path.dirname(here), '../..');

export default defineConfig({
  schema: path.join(root, 'prisma/schema.prisma'),
  migrations: { path: path.join(root, 'prisma/migrations') },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost/mailroom' },
});
