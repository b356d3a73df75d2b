/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  // Temporary files of the whole run live in one folder, removed at the end (see global-setup.js).
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  // SWC strips types only: `npm test` type-checks with tsc first, so jest stays fast.
  transform: { '^.+\\.[tj]s$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  // These packages ship ES modules only: compile them too.
  resolver: '<rootDir>/test/support/esm-only-resolver.js',
  transformIgnorePatterns: ['/node_modules/(?!(@kubernetes/client-node|openid-client|oauth4webapi|jose|@kubernetes-models|kubernetes-models|is-cidr|cidr-regex|age-encryption|@noble|@scure|sops-age|@octokit|before-after-hook|universal-user-agent|json-with-bigint|content-type|fast-content-type-parse)/)'],
};
