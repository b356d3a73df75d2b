// The end-to-end scenarios (test/e2e/*.e2e.ts), run by `npm run test:e2e` against the control plane
// it started (FLUX_INFRA_E2E names its description). One at a time: they share the control plane.
const base = require('../../jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  rootDir: '../..',
  roots: ['<rootDir>/test/e2e'],
  testMatch: ['**/*.e2e.ts'],
  maxWorkers: 1,
  testTimeout: 5 * 60 * 1000,
  cacheDirectory: '<rootDir>/node_modules/.cache/jest-e2e',
};
