#!/usr/bin/env node
// Compiles the argon2 addon for the CPU it will run on. The binary npm installs (argon2's prebuild, or — where that
// crashes, as on this machine — its install script's own compile) targets plain SSE2, any x86-64; argon2's optimised
// code uses AVX2/AVX-512 when the compiler may, which makes one argon2id verification at m=64 MiB, t=3 about 1.7×
// faster on this machine class (76 ms instead of 130 ms) — and login throughput of POP3 and the panel is bound by that.
//
// It only ever helps: the new binary is built aside, checked to compute the same hash as the installed one and to be
// faster, and only then put in place (the installed one is kept in build-portable/). Nothing is downloaded: it needs a
// C compiler and Node's headers on the machine (Debian's nodejs has them in /usr/include/node) and skips itself
// without them.
//
//   MAILROOM_ARGON2_MARCH   -march for the build: `native` (default: this machine's CPU), e.g. `x86-64-v3` for an
//                           image that runs elsewhere, or `off` to keep the portable prebuilt binary.
//
// Runs from ensure-install.mjs once per install (a marker in node_modules remembers the outcome), or by hand:
// `node scripts/argon2-native.mjs --force`.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Loads the argon2 package at argv[1] (its binary as node-gyp-build finds it) and times one hash with fixed inputs.
const CHECK = `
const dir = process.argv[1];
const a = require(dir + '/argon2.cjs');
const salt = Buffer.alloc(16, 7);
const opts = { type: a.argon2id, memoryCost: 65536, timeCost: 3, parallelism: 1, salt, raw: true };
(async () => {
  await a.hash('mailroom', opts);
  const times = [];
  let out;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    out = await a.hash('mailroom', opts);
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  console.log(JSON.stringify({ hash: out.toString('hex'), ms: times[1], binary: require('node-gyp-build').path(dir) }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

function findNodeGyp() {
  const candidates = [
    process.env.npm_execpath && path.join(path.dirname(process.env.npm_execpath), '../node_modules/node-gyp/bin/node-gyp.js'),
    path.join(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ].filter(Boolean);
  return candidates.find((p) => existsSync(p));
}

/** Node's headers for exactly this version, from the installation itself (no download). */
function findNodeDir() {
  const dir = path.resolve(path.dirname(process.execPath), '..');
  const header = path.join(dir, 'include/node/node_version.h');
  if (!existsSync(header)) return undefined;
  const text = readFileSync(header, 'utf8');
  const part = (name) => /#define\s+NODE_\w+_VERSION\s+(\d+)/.exec(text.slice(text.indexOf(`#define NODE_${name}_VERSION`)))?.[1];
  return `v${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}` === process.version ? dir : undefined;
}

function check(pkgDir) {
  const out = execFileSync(process.execPath, ['-e', CHECK, pkgDir], {
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out.trim().split('\n').pop());
}

export function buildArgon2Native(root, { force = false, log = (m) => console.log(`[mailroom] ${m}`) } = {}) {
  const march = (process.env.MAILROOM_ARGON2_MARCH ?? 'native').trim();
  const pkgDir = path.join(root, 'node_modules/argon2');
  if (!existsSync(pkgDir)) return;
  const build = path.join(pkgDir, 'build');
  const portable = path.join(pkgDir, 'build-portable');
  const marker = path.join(root, 'node_modules/.mailroom-argon2-native');
  const version = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
  const key = `argon2 ${version} node ${process.version} march ${march}`;
  if (!force && existsSync(marker) && readFileSync(marker, 'utf8').startsWith(`${key}:`)) return;
  const done = (outcome) => writeFileSync(marker, `${key}: ${outcome}\n`);
  // Back to what npm installed first (a previous native build, a different -march, or `off`).
  if (existsSync(portable)) {
    rmSync(build, { recursive: true, force: true });
    renameSync(portable, build);
  }
  if (['off', '0', 'false', ''].includes(march.toLowerCase())) return done('off');
  if (!/^[\w.+-]+$/.test(march)) {
    log(`MAILROOM_ARGON2_MARCH=${march} is not a CPU name; keeping the installed argon2 binary`);
    return done('bad march');
  }
  const nodeGyp = findNodeGyp();
  const nodeDir = findNodeDir();
  if (!nodeGyp || !nodeDir) {
    log(`argon2: ${nodeGyp ? 'no Node headers for this version' : 'no node-gyp'} here, keeping the portable prebuilt binary`);
    return done('skipped');
  }
  log(`compiling argon2 for this CPU (-march=${march})…`);
  // Beside the package inside node_modules, so the build finds node-addon-api and the check finds argon2's deps.
  const stage = path.join(root, 'node_modules/.mailroom-argon2-build/argon2');
  rmSync(path.dirname(stage), { recursive: true, force: true });
  try {
    cpSync(pkgDir, stage, { recursive: true, filter: (src) => !/[\\/](build|build-portable|prebuilds)$/.test(src) });
    const flags = `-O3 -march=${march}`;
    execFileSync(process.execPath, [nodeGyp, 'rebuild', '--release', `--nodedir=${nodeDir}`], {
      cwd: stage,
      env: { ...process.env, CFLAGS: flags, CXXFLAGS: flags },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
    const built = check(stage);
    const installed = check(pkgDir);
    if (!built.binary.startsWith(path.join(stage, 'build'))) throw new Error(`the build was not picked up (${built.binary})`);
    if (built.hash !== installed.hash) throw new Error('the build computes a different hash than the installed binary');
    if (built.ms >= installed.ms) throw new Error(`the build is not faster (${built.ms.toFixed(0)} ms vs ${installed.ms.toFixed(0)} ms)`);
    if (existsSync(build)) renameSync(build, portable);
    cpSync(path.join(stage, 'build'), build, { recursive: true });
    log(
      `argon2 compiled for this CPU: one argon2id m=64MiB t=3 hash ${built.ms.toFixed(0)} ms (installed binary: ${installed.ms.toFixed(0)} ms), same output`,
    );
    done(`built ${built.ms.toFixed(0)} ms vs ${installed.ms.toFixed(0)} ms`);
  } catch (err) {
    const reason = String(err?.stderr || err?.message || err)
      .trim()
      .split('\n')
      .slice(-3)
      .join(' ');
    log(`argon2: keeping the installed binary (${reason})`);
    done(`failed: ${reason}`);
  } finally {
    rmSync(path.dirname(stage), { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildArgon2Native(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'), { force: process.argv.includes('--force') });
}
