// ESLint flat config for the whole repository (`npm run lint`). Formatting is Prettier's job (eslint-config-prettier
// switches ESLint's formatting rules off); this file is about correctness and structure.
import js from '@eslint/js';
import nextPlugin from '@next/eslint-plugin-next';
import { defineConfig, globalIgnores } from 'eslint/config';
import prettierConfig from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores([
    '**/node_modules/',
    '**/.next/',
    '**/dist/',
    '**/coverage/',
    '**/.turbo/',
    '**/.mailroom/',
    '**/.test-results/',
    '**/test-results/',
    '**/playwright-report/',
    'packages/db/src/generated/',
    '**/next-env.d.ts',
  ]),

  js.configs.recommended,
  tseslint.configs.recommended,

  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },

  // Import cycles, resolved the way tsc resolves them: `.ts` extensions, tsconfig paths (apps/web's `@/*`) and the
  // workspace packages (`@mailroom/core` → packages/core/src/index.ts through its package.json `exports`).
  {
    plugins: { 'import-x': importX },
    settings: {
      // Without these import-x skips `.ts` files when it follows imports, and sees no cycle through them.
      'import-x/extensions': ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx', '.mts', '.cts'] },
      // Our workspace packages are ours: followed for cycles, while npm packages are not (`ignoreExternal`).
      'import-x/internal-regex': '^@mailroom/',
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          alwaysTryTypes: true,
          project: ['tsconfig.base.json', 'apps/*/tsconfig.json', 'packages/*/tsconfig.json', 'scripts/tsconfig.json'],
          noWarnOnMultipleProjects: true,
        }),
      ],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
    },
  },

  {
    rules: {
      // `_`-prefixed names are deliberately unused (placeholders in signatures and destructuring).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },

  // The panel: Next.js's own rules (core web vitals) and the rules of hooks, as eslint-config-next sets them.
  {
    files: ['apps/web/**/*.{ts,tsx}'],
    ignores: ['apps/web/e2e/**'],
    plugins: { '@next/next': nextPlugin, 'react-hooks': reactHooks },
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    settings: { next: { rootDir: 'apps/web/' } },
    rules: {
      ...nextPlugin.configs.recommended.rules,
      ...nextPlugin.configs['core-web-vitals'].rules,
      ...reactHooks.configs.flat.recommended.rules,
      // Signing in and out navigate with a full page load on purpose: nothing client-side of the previous session survives.
      '@next/next/no-location-assign-relative-destination': 'off',
    },
  },
  // Playwright journeys: Playwright reads a fixture's parameter list, so `async ({}, use)` is its required shape.
  {
    files: ['apps/web/e2e/**/*.ts', 'apps/web/playwright.config.ts'],
    rules: { 'no-empty-pattern': ['error', { allowObjectPatternsAsParameters: true }] },
  },

  prettierConfig,
);
