import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * A workspace's Node command-line flags: `"mailroom": { "nodeFlags": [...] }` in its package.json. Node refuses some
 * V8 flags in NODE_OPTIONS (`--initial-old-space-size` among them), so every launcher of a service puts them on the
 * command line: the supervisor (`npm start`), `startEntry` (tests and benchmarks), docker-compose's `command` and the
 * image's default command `/app/start` (scripts/image-start.mjs; image.test.ts compares both with the package.json,
 * which the image carries beside the bundle). A service given them in its spec warns at start when they are missing.
 */
const packageShape = z.object({
  mailroom: z
    .object({
      nodeFlags: z.array(z.string().regex(/^--[a-z0-9-]+(=[^\s]+)?$/)).optional(),
      mallocHugePages: z.boolean().optional(),
    })
    .strict()
    .optional(),
});

/** How a workspace's service is launched: its package.json's `"mailroom"` object, with defaults (none, no huge pages). */
export function workspaceLaunch(dir: string): { nodeFlags: string[]; mallocHugePages: boolean } {
  let text: string | undefined;
  try {
    text = readFileSync(path.join(dir, 'package.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const declared = text === undefined ? undefined : packageShape.parse(JSON.parse(text)).mailroom;
  return { nodeFlags: declared?.nodeFlags ?? [], mallocHugePages: declared?.mallocHugePages ?? false };
}

/** The flags `<dir>/package.json` declares; none when it declares none or is not there. */
export function workspaceNodeFlags(dir: string): string[] {
  return workspaceLaunch(dir).nodeFlags;
}

/**
 * Whether the workspace's service maps malloc's memory in transparent huge pages: `"mailroom": { "mallocHugePages":
 * true }` in its package.json, for the services that verify passwords (each argon2id hash maps 64 MiB afresh: 32 page
 * faults instead of 16,384). Every launcher gives such a service glibc's `hugetlb` tunable unless the operator set
 * their own `GLIBC_TUNABLES`: the supervisor (packages/db `withMallocTuning`), the image's `/app/start`
 * (scripts/image-start.mjs) and docker-compose's `environment` (image.test.ts compares them with the package.json).
 */
export function workspaceMallocHugePages(dir: string): boolean {
  return workspaceLaunch(dir).mallocHugePages;
}

/** The flags of `expected` that `execArgv` (this process's, by default) does not carry. */
export function missingNodeFlags(expected: readonly string[], execArgv: readonly string[] = process.execArgv): string[] {
  return expected.filter((flag) => !execArgv.includes(flag));
}
