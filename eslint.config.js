import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'helm/**', '**/*.py'] },
  ...tseslint.configs.recommended,
  {
    // Type-aware checks for what the code relies on: promises awaited, no `any` flowing on from JSON or
    // untyped libraries, methods not called detached, only Errors thrown. The operator page's script
    // (gateway/ui/assets/app.js) is left out: it is checked by its own tsconfig (DOM library) and its owner.
    files: ['**/*.ts', '**/*.js'],
    ignores: ['gateway/ui/assets/app.js'],
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
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
);
