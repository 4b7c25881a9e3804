// ESLint for the JupyterLab extension's TypeScript (src/), as the JupyterLab extension template sets it
// up; pre-commit runs it on changed files in src/.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['lib/', 'node_modules/', 'jupyter_spark_broker/labextension/', 'src/generated/']
  },
  {
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    extends: [tseslint.configs.recommended],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['warn', { args: 'none' }],
      curly: ['error', 'all'],
      eqeqeq: 'error'
    }
  }
);
