import { workspaceTestConfig } from '../../vitest.shared.ts';

// Whole-stack tests start their own embedded PostgreSQL through scripts/start.ts.
export default workspaceTestConfig({ database: false, testTimeoutMs: 180_000 });
