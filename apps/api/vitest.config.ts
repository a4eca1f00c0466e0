import { workspaceTestConfig } from '../../vitest.shared.ts';

const base = workspaceTestConfig({ database: true });
const globalSetup = base.test?.globalSetup ?? [];

// The exit guard goes first so it is registered before the embedded cluster is started (see src/testing-exit-guard.ts).
export default { ...base, test: { ...base.test, globalSetup: ['./src/testing-exit-guard.ts', ...(Array.isArray(globalSetup) ? globalSetup : [globalSetup])] } };
