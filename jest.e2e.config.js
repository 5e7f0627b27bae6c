// End-to-end suite (npm run test:e2e): real Multus, a real kube-apiserver and
// real CNI plugins in network namespaces. One API server serves the whole run
// (globalSetup), the files run in band because they share it and the host's
// mount points, and the summary reporter prints the one-line verdict last.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  // Per checkout: a transform cache shared in /tmp with other checkouts (or
  // a mutation run's sandboxes) was seen handing an ESM test CommonJS output.
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  roots: ['<rootDir>/test/e2e'],
  testMatch: ['<rootDir>/test/e2e/**/*.e2e.test.ts'],
  globalSetup: '<rootDir>/test/e2e/global-setup.js',
  globalTeardown: '<rootDir>/test/e2e/global-teardown.js',
  // Wraps jest's default and summary reporters so its verdict line comes last.
  reporters: ['<rootDir>/test/e2e/summary-reporter.js'],
  verbose: true,
  maxWorkers: 1,
  // A scenario starts installers and waits on real plugins and the API server.
  testTimeout: 120000,
};
