import { defineConfig, mergeConfig } from 'vitest/config';
import { workspaceTestConfig } from '../../vitest.shared.ts';

// The db package tests its own global setup by path (it is the package that provides it).
export default mergeConfig(
  workspaceTestConfig({ database: false }),
  defineConfig({ test: { globalSetup: ['./src/testing/global-setup.ts'] } }),
);
