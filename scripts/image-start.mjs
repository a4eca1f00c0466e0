#!/usr/bin/env node
// Writes a node service image's default command (Dockerfile, build stage): `<image>/start`, a shell script that runs
// the workspace's bundled entry with the Node flags its package.json declares (`"mailroom": { "nodeFlags": [...] }`,
// read by packages/runtime workspaceNodeFlags), and for a workspace that declares `"mallocHugePages": true` (the
// services that verify passwords) glibc's malloc in transparent huge pages: the image's GLIBC_TUNABLES (the third
// argument) plus `glibc.malloc.hugetlb=1`, unless the operator set their own (packages/db withMallocTuning's rule).
// Node refuses some V8 flags in NODE_OPTIONS (the ingress's `--initial-old-space-size`), so they must be on the
// command line, as docker-compose's `command` and `npm start`'s supervisor put them. The workspace's package.json is
// copied beside its dist/ too, so the service finds the flags it expects and warns at start when another command
// leaves them out.
//
//   node scripts/image-start.mjs <workspace folder, e.g. packages/ingress> <image root, e.g. /image> [image's GLIBC_TUNABLES]
//
// Run from the repository (or pruned tree) root; the paths in the script are relative to the image's /app.
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [location, image, imageTunables] = process.argv.slice(2);
if (!location || !image || path.isAbsolute(location) || location.split('/').includes('..')) {
  console.error("usage: node scripts/image-start.mjs <workspace folder> <image root> [image's GLIBC_TUNABLES]");
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(path.join(location, 'package.json'), 'utf8'));
// What a flag may look like is packages/runtime workspaceNodeFlags' rule (its schema; image.test.ts and every launcher
// parse the package.json with it): here each one is only quoted for the shell, so nothing in it is expanded.
const flags = manifest.mailroom?.nodeFlags ?? [];
if (!Array.isArray(flags) || flags.some((f) => typeof f !== 'string')) {
  console.error(`${location}/package.json: mailroom.nodeFlags must be a list of strings`);
  process.exit(1);
}
const hugePages = manifest.mailroom?.mallocHugePages ?? false;
if (typeof hugePages !== 'boolean') {
  console.error(`${location}/package.json: mailroom.mallocHugePages must be true or false`);
  process.exit(1);
}
if (hugePages && !imageTunables) {
  console.error(`${location} declares mallocHugePages: give the image's GLIBC_TUNABLES as the third argument`);
  process.exit(2);
}
const quote = (arg) => `'${arg.replaceAll("'", "'\\''")}'`;
const entry = `${location}/dist/main.mjs`;
const script = [
  '#!/bin/sh',
  `# ${manifest.name}: its entry with the Node flags its package.json declares (written by scripts/image-start.mjs)`,
  'cd "$(dirname "$0")" || exit 1',
  ...(hugePages
    ? [
        "# glibc's malloc maps its large blocks (each argon2id hash: 64 MiB) in transparent huge pages: the image's",
        '# GLIBC_TUNABLES plus glibc.malloc.hugetlb=1, unless the operator set their own (package.json mallocHugePages)',
        `if [ -z "\${GLIBC_TUNABLES+set}" ] || [ "$GLIBC_TUNABLES" = ${quote(imageTunables)} ]; then`,
        `  GLIBC_TUNABLES=${quote(`${imageTunables}:glibc.malloc.hugetlb=1`)}; export GLIBC_TUNABLES`,
        'fi',
      ]
    : []),
  `exec node ${[...flags, entry].map(quote).join(' ')} "$@"`,
  '',
].join('\n');
writeFileSync(path.join(image, 'start'), script);
chmodSync(path.join(image, 'start'), 0o755);
mkdirSync(path.join(image, location), { recursive: true });
copyFileSync(path.join(location, 'package.json'), path.join(image, location, 'package.json'));
