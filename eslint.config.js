import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import { noImportCycle } from './eslint/no-import-cycle.js';

// The part rules of README.md's layout: imports flow one way, common/ ← models/ ← replica/ ← gateway/,
// scheduler/ ← cli/, with test/ and bench/ on top. gateway/ and scheduler/ see a replica only through its
// published contract (docs/contracts.md §1: stats schema, listening line, exit codes), never its internals.
const REPLICA_CONTRACT = ['contract.ts', 'listening-line.ts', 'exit-codes.ts'];
const TOOLS = ['./cli', './test', './bench'];
const PART_ZONES = [
  { target: './common', from: ['./models', './replica', './gateway', './scheduler', ...TOOLS] },
  { target: './models', from: ['./replica', './gateway', './scheduler', ...TOOLS] },
  { target: './replica', from: ['./gateway', './scheduler', ...TOOLS] },
  { target: './gateway', from: ['./scheduler', ...TOOLS] },
  { target: './gateway', from: './replica', except: REPLICA_CONTRACT },
  { target: './scheduler', from: ['./gateway', ...TOOLS] },
  { target: './scheduler', from: './replica', except: REPLICA_CONTRACT },
  { target: './cli', from: ['./test', './bench'] },
].map((zone) => ({ ...zone, message: 'crosses a part boundary (README.md, Layout)' }));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'helm/**', '**/*.py'] },
  ...tseslint.configs.recommended,
  {
    // Type-aware checks for what the code relies on: promises awaited, no `any` flowing on from JSON or
    // untyped libraries, methods not called detached, only Errors thrown. The operator page's script
    // (gateway/ui/assets/browser/*.js) has its own block below: its tsconfig has the DOM library.
    files: ['**/*.ts', '**/*.js'],
    ignores: ['gateway/ui/assets/browser/*.js'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['bin/*.js', 'eslint.config.js', 'eslint/*.js', 'vitest.config.ts'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    files: ['**/*.test.ts'],
    rules: {
      // vitest types its asymmetric matchers (expect.any, expect.stringMatching, …) `any`: used in expectations.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    // The operator page's script: browser JavaScript checked against its own tsconfig (DOM library, the
    // contract's types through JSDoc), with every type-aware rule: JSON from fetch and events is `unknown`
    // until checked (isClusterView), so no `any` flows on.
    files: ['gateway/ui/assets/browser/*.js'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        project: ['gateway/ui/assets/browser/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    files: ['**/*.ts', '**/*.js'],
    plugins: { 'import-x': importX, gpumux: { rules: { 'no-import-cycle': noImportCycle } } },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })] },
    rules: { 'gpumux/no-import-cycle': 'error' },
  },
  {
    // Production code only: a colocated test may use the test helpers.
    files: [
      'common/**/*.ts',
      'models/**/*.ts',
      'replica/**/*.ts',
      'gateway/**/*.ts',
      'scheduler/**/*.ts',
      'cli/**/*.ts',
    ],
    ignores: ['**/*.test.ts'],
    rules: { 'import-x/no-restricted-paths': ['error', { zones: PART_ZONES }] },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
);
