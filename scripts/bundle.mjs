#!/usr/bin/env node
// Compiles a service entry (TypeScript) into one JavaScript file for the production image (Dockerfile), run by plain
// `node`. Our own code (the entry and every @mailroom/* workspace it imports, including the generated Prisma client)
// is bundled; every npm package stays an external import, resolved at run time from the image's node_modules, which
// `npm ci --omit=dev` fills with the production dependencies of the pruned workspaces (native argon2, pg, Prisma's
// runtime and wasm query compiler, pino's worker files… all load as their authors intended).
//
//   node ../../scripts/bundle.mjs <entry.ts> [--out <file.mjs>] [--next-standalone]
//
// Run from the workspace folder (each deployable workspace's `bundle` script does). Default output: dist/<entry
// name>.mjs there, e.g. packages/pop3/dist/main.mjs. That file sits at the same depth as src/*.ts, so paths our code
// computes from import.meta.url (packages/db: ../../../prisma/migrations) point at the same place in the image as in
// the repository.
//
// --next-standalone: the panel's server.ts, written into Next's standalone output. It first hands Next the config
// `next build` recorded (.next/required-server-files.json), as Next's own standalone server.js does, because the
// standalone tree carries no next.config.ts.
import { build } from 'esbuild';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string' }, 'next-standalone': { type: 'boolean', default: false } },
});
if (positionals.length !== 1) {
  console.error('usage: node scripts/bundle.mjs <entry.ts> [--out <file.mjs>] [--next-standalone]');
  process.exit(2);
}
const entry = path.resolve(positionals[0]);
const outfile = path.resolve(values.out ?? path.join('dist', `${path.basename(entry, '.ts')}.mjs`));

/** Bare imports of npm packages stay external; @mailroom/* workspaces and relative files are bundled. */
const externalPackages = {
  name: 'external-npm-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@mailroom/')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

const STANDALONE_CONFIG = `{
  const { readFileSync } = await import('node:fs');
  const files = new URL('./.next/required-server-files.json', import.meta.url);
  process.env.__NEXT_PRIVATE_STANDALONE_CONFIG ??= JSON.stringify(JSON.parse(readFileSync(files, 'utf8')).config);
}`;

const result = await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  // the lowest Node in `engines` (package.json)
  target: 'node20.19',
  plugins: [externalPackages],
  // CommonJS packages are external, but a bundled module may still call require() (createRequire is the ESM way)
  banner: {
    js: [
      "import { createRequire as __mailroomCreateRequire } from 'node:module';",
      'const require = __mailroomCreateRequire(import.meta.url);',
      ...(values['next-standalone'] ? [STANDALONE_CONFIG] : []),
    ].join('\n'),
  },
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs)[0]?.bytes ?? 0;
console.log(
  `bundled ${path.relative(process.cwd(), entry)} -> ${path.relative(process.cwd(), outfile)} (${(bytes / 1024).toFixed(0)} KiB)`,
);
