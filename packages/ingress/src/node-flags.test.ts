import { fileURLToPath } from 'node:url';
import { workspaceNodeFlags } from '@mailroom/runtime';
import { describe, expect, it } from 'vitest';

const INGRESS_DIR = fileURLToPath(new URL('..', import.meta.url));

describe("the ingress's Node flags (package.json nodeFlags)", () => {
  it('floor the old generation for V8 (README, 1 MB ingest, item 26)', () => {
    expect(workspaceNodeFlags(INGRESS_DIR)).toContain('--initial-old-space-size=128');
  });
});
