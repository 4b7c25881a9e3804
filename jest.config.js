// Jest for the extension's unit tests (src/__tests__/), on JupyterLab's own preset as the extension
// template uses it: ts-jest with tsconfig.test.json, a jsdom environment with fetch.
const jestJupyterLab = require('@jupyterlab/testutils/lib/jest-config');

// ES modules to compile: the template's, and the web components @jupyterlab/apputils pulls in.
const esModules = [
  '@codemirror',
  '@jupyter/react-components',
  '@jupyter/web-components',
  '@jupyter/ydoc',
  '@jupyterlab/',
  '@microsoft',
  'exenv-es6',
  'lib0',
  'marked',
  'nanoid',
  'vscode-ws-jsonrpc',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

const baseConfig = jestJupyterLab(__dirname);

module.exports = {
  ...baseConfig,
  automock: false,
  collectCoverageFrom: [
    'src/**/*.{ts,tsx}',
    '!src/**/*.d.ts',
    '!src/generated/**'
  ],
  coverageReporters: ['lcov', 'text'],
  // No junit.xml left in the checkout; the console says what failed.
  reporters: ['default'],
  testRegex: 'src/.*/.*.spec.ts[x]?$',
  transformIgnorePatterns: [`/node_modules/(?!${esModules}).+`]
};
