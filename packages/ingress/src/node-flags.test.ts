import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { workspaceNodeFlags } from '@mailroom/runtime';
import { describe, expect, it } from 'vitest';

const INGRESS_DIR = fileURLToPath(new URL('..', import.meta.url));
const COMPOSE = readFileSync(fileURLToPath(new URL('../../../docker-compose.yml', import.meta.url)), 'utf8');

describe("the ingress's Node flags (package.json nodeFlags)", () => {
  it('floor the old generation for V8 (README, 1 MB ingest, item 26)', () => {
    expect(workspaceNodeFlags(INGRESS_DIR)).toContain('--initial-old-space-size=128');
  });

  it("are on docker-compose's command line for the ingress, before its entry (NODE_OPTIONS refuses them)", () => {
    const command = /^\s*command: \[(.*packages\/ingress\/dist\/main\.mjs.*)\]\s*$/m.exec(COMPOSE)?.[1];
    expect(command).toBeDefined();
    const args = command!.split(',').map((a) => a.trim().replace(/^'|'$/g, ''));
    expect(args).toEqual(['node', ...workspaceNodeFlags(INGRESS_DIR), 'packages/ingress/dist/main.mjs']);
  });
});
