#!/usr/bin/env node
// Pre-script of start/test/bench/mailroom/lint/format: installs dependencies when node_modules is missing or older than the
// lockfile, compiles argon2 for this CPU once per install (argon2-native.mjs), and generates the Prisma client when it
// is missing. Plain Node: it runs before anything is installed.
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildArgon2Native } from './argon2-native.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const lock = path.join(root, 'package-lock.json');
const marker = path.join(root, 'node_modules', '.mailroom-install');
const env = {
  ...process.env,
  CHECKPOINT_DISABLE: '1',
  NEXT_TELEMETRY_DISABLED: '1',
  TURBO_TELEMETRY_DISABLED: '1',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};

const digest = () =>
  createHash('sha256')
    .update(readFileSync(lock))
    .update(readFileSync(path.join(root, 'package.json')))
    .digest('hex');
const want = existsSync(lock) ? digest() : 'no-lock';
const have = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : '';

if (!existsSync(path.join(root, 'node_modules')) || have !== want) {
  console.log('[mailroom] installing dependencies (npm ci)…');
  execSync(existsSync(lock) ? 'npm ci --no-audit --no-fund' : 'npm install --no-audit --no-fund', { cwd: root, stdio: 'inherit', env });
  writeFileSync(marker, `${existsSync(lock) ? digest() : 'no-lock'}\n`);
}
// argon2 compiled for this CPU (once per install; see argon2-native.mjs): logins are bound by it.
buildArgon2Native(root);
if (!existsSync(path.join(root, 'packages/db/src/generated/prisma/client.ts'))) {
  console.log('[mailroom] generating the Prisma client…');
  execSync('npx prisma generate', { cwd: path.join(root, 'packages/db'), stdio: 'inherit', env });
}
