/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Two workers even on a 2-core machine: many tests wait on the processes they start.
  maxWorkers: 2,
  roots: ['<rootDir>/test'],
  // Temporary files of the whole run live in one folder, removed at the end (see global-setup.js).
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  // After jest's summary, the skipped tests and what each needs (`7 skipped` alone says neither).
  reporters: ['default', '<rootDir>/test/support/skipped-reporter.js'],
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  // SWC strips types only: `npm test` type-checks with tsc first, so jest stays fast.
  // Packages compiled from ES modules get no source maps: a map per file doubles what each test file
  // compiles again (about a tenth of the suite's time), and their stack traces are not ours to read.
  transform: {
    '/node_modules/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' }, sourceMaps: false }],
    '^.+\\.[tj]s$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // These packages ship ES modules only: compile them too.
  resolver: '<rootDir>/test/support/esm-only-resolver.js',
  // A dynamic import() of our own files names them `.js` (as Node's ES module resolution wants); the source is `.ts`.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transformIgnorePatterns: ['/node_modules/(?!(@kubernetes/client-node|openid-client|oauth4webapi|jose|@kubernetes-models|kubernetes-models|is-cidr|cidr-regex|age-encryption|@noble|@scure|sops-age|@octokit|before-after-hook|universal-user-agent|json-with-bigint|content-type|fast-content-type-parse)/)'],
};
