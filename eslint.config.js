import tseslint from 'typescript-eslint';

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
        projectService: { allowDefaultProject: ['bin/*.js', 'eslint.config.js', 'vitest.config.ts'] },
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
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
);
