// ESLint for the JupyterLab extension's TypeScript (src/), as the JupyterLab extension template sets it
// up: typescript-eslint, Jupyter's own rules (translations, signals, plugins) and prettier. `npm run
// eslint:check` allows no warning; pre-commit runs it on changed files in src/.
import js from '@eslint/js';
import jupyterPlugin from '@jupyter/eslint-plugin';
import prettierRecommended from 'eslint-plugin-prettier/recommended';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'lib/',
      'coverage/',
      '.venv/',
      'docs/',
      'jupyter_spark_broker/',
      // made by openapi-typescript from openapi.yaml (npm run build:types), not by hand
      'src/generated/',
      '**/*.js',
      '**/*.d.ts'
    ]
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  jupyterPlugin.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      globals: { ...globals.browser, ...globals.es2015 },
      parserOptions: { project: 'tsconfig.test.json', sourceType: 'module' }
    },
    rules: {
      '@typescript-eslint/naming-convention': [
        'error',
        {
          selector: 'interface',
          format: ['PascalCase'],
          custom: { regex: '^I[A-Z]', match: true }
        }
      ],
      '@typescript-eslint/no-unused-vars': ['warn', { args: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-namespace': 'off',
      '@typescript-eslint/no-use-before-define': 'off',
      // The panel, the status item and their model are in the shell from the start, and the
      // settings apply as soon as they load: nothing here waits for a person to act.
      'jupyter/prefer-lazy-imports': [
        'warn',
        { ignoreImports: ['./model', './panel', './status', './settings'] }
      ],
      curly: ['error', 'all'],
      eqeqeq: 'error',
      'prefer-arrow-callback': 'error'
    }
  },
  {
    // Test data, not strings a person sees in Lab.
    files: ['src/__tests__/**'],
    rules: { 'jupyter/no-untranslated-string': 'off' }
  },
  prettierRecommended
);
