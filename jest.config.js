/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  // SWC strips types only: `npm test` type-checks with tsc first, so jest stays fast.
  transform: { '^.+\\.[tj]s$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  // These packages ship ES modules only: compile them too.
  resolver: '<rootDir>/test/support/esm-only-resolver.js',
  transformIgnorePatterns: ['/node_modules/(?!(@kubernetes-models|kubernetes-models|is-cidr|cidr-regex|age-encryption|@noble|@scure|sops-age|@octokit|before-after-hook|universal-user-agent|json-with-bigint|content-type|fast-content-type-parse)/)'],
};
