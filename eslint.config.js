import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setImmediate: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // supervisors/ is a library: it takes nothing from the node.
    files: ['supervisors/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/src/**'], message: 'supervisors/ imports nothing from src/' }] }] },
  },
  // Everything else reaches supervisors/ through its public surface only. The patterns count the
  // '../' of each depth, so that test/supervisors/ (the tests' helpers) is not mistaken for it.
  ...[1, 2, 3].map((depth) => {
    const dirs = '/*'.repeat(depth - 1);
    const up = '../'.repeat(depth);
    return {
      files: ['src', 'test', 'bench'].flatMap((d) => [`${d}${dirs}/*.ts`, `${d}${dirs}/*.tsx`]),
      rules: { 'no-restricted-imports': ['error', { patterns: [{ group: [`${up}supervisors/*`, `!${up}supervisors/index.js`], message: 'import supervisors/index.js, not the files behind it' }] }] },
    };
  }),
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
