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
  mailroom: z.object({ nodeFlags: z.array(z.string().regex(/^--[a-z0-9-]+(=[^\s]+)?$/)) }).optional(),
});

/** The flags `<dir>/package.json` declares; none when it declares none or is not there. */
export function workspaceNodeFlags(dir: string): string[] {
  let text: string;
  try {
    text = readFileSync(path.join(dir, 'package.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return packageShape.parse(JSON.parse(text)).mailroom?.nodeFlags ?? [];
}

/** The flags of `expected` that `execArgv` (this process's, by default) does not carry. */
export function missingNodeFlags(expected: readonly string[], execArgv: readonly string[] = process.execArgv): string[] {
  return expected.filter((flag) => !execArgv.includes(flag));
}
